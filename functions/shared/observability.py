"""The one Logger, Metrics and Tracer of each process. Never instantiate Powertools objects elsewhere."""

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "postbox"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Postbox", service=SERVICE)
tracer = Tracer(service=SERVICE)
