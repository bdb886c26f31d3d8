"""Fault injection for local mode: AWS errors answered in place of a share of DynamoDB and SQS calls.

`POSTBOX_FAULTS="dynamodb=0.05,sqs=0.02"` makes 5 % of this process's DynamoDB requests fail as throttled and 2 %
of its SQS requests fail with a service error, before they reach the backend. The error goes through botocore
like a real one (its retries included), so what Postbox sees is what it would see from AWS on a bad day. Used by
the soak (`make soak`); never set in a deployment (Lambda functions do not import this module).
"""

from __future__ import annotations

import json
import os
import random
import threading
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS
from moto.core.botocore_stubber import MockRawResponse

ENV_VAR = "POSTBOX_FAULTS"

# What each service answers when it is having a bad moment (both are errors botocore retries).
_ERRORS: dict[str, tuple[int, dict[str, str], bytes]] = {
    "dynamodb": (
        400,
        {"Content-Type": "application/x-amz-json-1.0"},
        json.dumps(
            {
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "injected fault: throughput exceeded",
            }
        ).encode(),
    ),
    "sqs": (
        500,
        {"Content-Type": "application/x-amz-json-1.0", "x-amzn-query-error": "InternalError;Receiver"},
        json.dumps({"__type": "com.amazonaws.sqs#InternalError", "message": "injected fault: internal error"}).encode(),
    ),
}


class FaultInjector:
    def __init__(self, shares: dict[str, float], seed: int | None = None) -> None:
        unknown = set(shares) - set(_ERRORS)
        if unknown:
            raise ValueError(f"{ENV_VAR}: no faults for {', '.join(sorted(unknown))} (known: {', '.join(_ERRORS)})")
        self.shares = shares
        self.injected: dict[str, int] = dict.fromkeys(shares, 0)
        self.calls: dict[str, int] = dict.fromkeys(shares, 0)
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def handler(self, service: str) -> Any:
        status, headers, body = _ERRORS[service]

        def before_send(request: Any, **_: Any) -> AWSResponse | None:
            with self._lock:
                self.calls[service] += 1
                inject = self._random.random() < self.shares[service]
                self.injected[service] += inject
            # Every handler of the event runs, and the first response wins: the mark tells local mode's in-process
            # backend (which answers in a handler too) to leave this attempt alone. Set on every attempt, as
            # botocore retries with the same request object.
            request.injected_fault = inject
            return AWSResponse(request.url, status, dict(headers), MockRawResponse(body)) if inject else None  # type: ignore[arg-type]

        return before_send

    def install(self) -> None:
        """Answer first, before any other `before-send` handler (moto's in-process backend is one), in every
        botocore session created from now on."""
        self._installed = [(f"before-send.{service}", self.handler(service)) for service in self.shares]
        for entry in self._installed:
            BUILTIN_HANDLERS.insert(0, entry)
        boto3.DEFAULT_SESSION = None  # the default session copied the handlers when it was made

    def uninstall(self) -> None:
        """For sessions created from now on (clients already made keep the faults)."""
        for entry in getattr(self, "_installed", []):
            BUILTIN_HANDLERS.remove(entry)
        self._installed = []
        boto3.DEFAULT_SESSION = None


def parse(spec: str) -> dict[str, float]:
    shares: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        service, _, share = part.partition("=")
        value = float(share)
        if not 0 <= value < 1:
            raise ValueError(f"{ENV_VAR}: the share of {service} must be in [0, 1), not {share}")
        shares[service.strip()] = value
    return shares


def install_from_env() -> FaultInjector | None:
    """Install the faults `POSTBOX_FAULTS` asks for, if any (before this process creates its AWS clients)."""
    spec = os.environ.get(ENV_VAR, "")
    if not spec.strip():
        return None
    injector = FaultInjector(parse(spec))
    injector.install()
    return injector
