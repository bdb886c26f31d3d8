"""The one Logger, Metrics and Tracer of each process. Never instantiate Powertools objects elsewhere."""

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

# Read-only routes publish no metric: that is expected, not worth a warning on every invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish")

SERVICE = "postbox"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Postbox", service=SERVICE)
tracer = Tracer(service=SERVICE)
