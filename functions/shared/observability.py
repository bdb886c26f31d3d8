"""The one Logger, Metrics and Tracer of each process. Never instantiate Powertools objects elsewhere.

Tracing is opt-in (`postbox:tracing` in cdk.json sets `POWERTOOLS_TRACE_DISABLED`): Powertools' Tracer imports
the X-Ray SDK even when disabled, about 100 ms of every cold start, so with tracing off the handlers get a
stand-in whose decorators return the function unchanged and the SDK is never imported.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

# Read-only routes publish no metric: that is expected, not worth a warning on every invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish")

SERVICE = "postbox"
F = TypeVar("F", bound=Callable[..., Any])


class UntracedTracer:
    """The decorators of Powertools' Tracer, doing nothing (`@tracer.capture_method` and `@...(...)` forms)."""

    def capture_method(self, method: F | None = None, **_: Any) -> Any:
        return method if method is not None else (lambda function: function)

    capture_lambda_handler = capture_method

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str | None = None) -> None:
        return None


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() not in ("1", "true")


def _tracer() -> Tracer:
    if not tracing_enabled():
        return cast("Tracer", UntracedTracer())
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


logger = Logger(service=SERVICE)
# The namespace is POWERTOOLS_METRICS_NAMESPACE, which the stack sets per stack (two stacks in one account keep
# their metrics apart); local mode and the tests disable metrics.
metrics = Metrics(service=SERVICE)
tracer = _tracer()


def count(name: str, value: int = 1) -> None:
    """Add to a Count metric. With metrics disabled (local mode, tests) nothing is recorded: Powertools keeps
    unflushed metrics in memory, which would grow without bound in a long-running local process."""
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    if not is_metrics_disabled():
        metrics.add_metric(name=name, unit="Count", value=value)
