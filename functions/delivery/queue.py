"""The delivery queue port and its SQS adapter."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

from functions.messages.models import DeliveryTask
from functions.shared import aws
from functions.shared.resources import MAX_SQS_DELAY_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class DeliveryQueue(Protocol):
    def send(self, task: DeliveryTask, delay_seconds: int) -> None: ...


def delay_until(due_ms: int, now_ms: int) -> int:
    """SQS delay (whole seconds, at most 900) for a record due at `due_ms`; longer waits take several hops."""
    return max(0, min(MAX_SQS_DELAY_SECONDS, math.ceil((due_ms - now_ms) / 1000)))


class SqsDeliveryQueue:
    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    def send(self, task: DeliveryTask, delay_seconds: int) -> None:
        client = self._client or aws.sqs()
        client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=task.model_dump_json(by_alias=True),
            DelaySeconds=delay_seconds,
        )
