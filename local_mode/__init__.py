"""Local mode: the same handlers, on this machine, against an embedded moto backend (no AWS, no Docker)."""
