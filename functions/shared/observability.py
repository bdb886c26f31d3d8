"""The one Logger, Metrics and Tracer of each process. Never instantiate Powertools objects elsewhere."""

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

# Read-only routes publish no metric: that is expected, not worth a warning on every invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish")

SERVICE = "postbox"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Postbox", service=SERVICE)
tracer = Tracer(service=SERVICE)


def count(name: str, value: int = 1) -> None:
    """Add to a Count metric. With metrics disabled (local mode, tests) nothing is recorded: Powertools keeps
    unflushed metrics in memory, which would grow without bound in a long-running local process."""
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    if not is_metrics_disabled():
        metrics.add_metric(name=name, unit="Count", value=value)
