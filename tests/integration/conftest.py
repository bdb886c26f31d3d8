"""Handlers -> services -> repositories against in-process moto (`mock_aws`), resources provisioned by the same
code (and from the same definitions) as local mode."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from local_mode.backend import DEFAULT_SIGNING_KEYS, LocalBackend, provision
from local_mode.frontdoor import build_event
from local_mode.lambda_context import LocalLambdaContext
from local_mode.runtime import reset_process_caches
from local_mode.worker_loop import WorkerLoop, sqs_event

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

TOKEN = "integration-token"


@dataclass
class Postbox:
    backend: LocalBackend

    @property
    def env(self) -> dict[str, str]:
        return self.backend.env

    def api(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        token: str | None = TOKEN,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Call the API handler with an HTTP API v2 event; returns (status, json body, headers)."""
        from functions.api.handler import lambda_handler

        all_headers = dict(headers or {})
        if body and not _publishes(path) and not any(name.lower() == "content-type" for name in all_headers):
            all_headers["Content-Type"] = "application/json"  # as the SDKs send a JSON body
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        event = build_event(method, path, list(all_headers.items()), body, "203.0.113.7")
        result = lambda_handler(event, LocalLambdaContext("postbox-api"))
        return result["statusCode"], json.loads(result["body"] or "null"), result.get("headers", {})

    def receive(self, max_messages: int = 10) -> list[MessageTypeDef]:
        sqs = boto3.client("sqs")
        return sqs.receive_message(
            QueueUrl=self.env["DELIVERY_QUEUE_URL"],
            MaxNumberOfMessages=max_messages,
            VisibilityTimeout=0,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])

    def run_worker(self, messages: list[MessageTypeDef]) -> dict[str, Any]:
        from functions.worker.handler import lambda_handler

        event = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:postbox-local-delivery", "us-east-1")
        return dict(lambda_handler(event, LocalLambdaContext("postbox-worker")))

    def drain(self) -> int:
        """One poll of the event source: receive a batch, run the worker, delete what it did not report failed."""
        from functions.worker.handler import lambda_handler

        loop = WorkerLoop(lambda_handler, boto3.client("sqs"), self.env["DELIVERY_QUEUE_URL"], 30, "us-east-1", 0)
        return loop.poll_once()


def _publishes(path: str) -> bool:
    """A route whose body is a message's, of any type."""
    return path.startswith(("/v2/publish/", "/v2/enqueue/")) or (
        path.startswith("/v2/schedules/") and not path.endswith(("/pause", "/resume"))
    )


@pytest.fixture(autouse=True)
def atomic_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's in-process backend is not thread-safe: concurrent transactions can interleave their condition checks
    and writes, which DynamoDB never does. Serialize its request handling, as the real service serializes writes
    to an item, so that tests with concurrent workers test Postbox, not moto's races."""
    lock = threading.RLock()
    original = BotocoreStubber.__call__

    def serialized(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", serialized)


@pytest.fixture
def postbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Postbox]:
    with mock_aws():
        backend = provision(None, TOKEN, DEFAULT_SIGNING_KEYS)
        for name, value in backend.env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("SECRET_CACHE_SECONDS", "0")
        reset_process_caches()
        yield Postbox(backend)
    reset_process_caches()
