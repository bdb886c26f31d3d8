"""`postbox`, the command line: an HTTP client of the API (publish, messages, the DLQ, the event log, the signing
keys), and `postbox dev`, which runs local mode. Not staged into the Lambda code (infra/build.py)."""
