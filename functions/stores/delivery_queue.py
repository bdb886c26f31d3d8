"""The delivery queue port and its adapter: SQS for waits up to 900 s, EventBridge Scheduler beyond.

A wait longer than SQS's 900 s maximum becomes a one-time `at()` schedule (deleted after it fires) whose
universal target sends the record to SQS with the remaining seconds as its delay. Scheduler fires to the
minute, SQS delays to the second: together delivery is on time to the second.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import ClientError

from functions.core.models import DeliveryTask
from functions.shared import aws
from functions.shared.observability import logger
from functions.shared.resources import MAX_SQS_DELAY_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

SQS_SEND_MESSAGE_TARGET = "arn:aws:scheduler:::aws-sdk:sqs:sendMessage"
SQS_BATCH = 10  # records per SendMessageBatch; one request (per 64 KB) whatever their number
_MINUTE_MS = 60_000


class DeliveryQueue(Protocol):
    def send(self, task: DeliveryTask, due_ms: int, now_ms: int) -> None:
        """Make `task` arrive at a worker at `due_ms` (now when it is due already)."""
        ...

    def send_many(self, tasks: Sequence[tuple[DeliveryTask, int]], now_ms: int) -> list[DeliveryTask]:
        """`send` for each (task, due_ms), in as few requests as the queue allows; returns the tasks not sent."""
        ...


def delay_until(due_ms: int, now_ms: int) -> int:
    """SQS delay (whole seconds, at most 900) for a record due at `due_ms`."""
    return max(0, min(MAX_SQS_DELAY_SECONDS, math.ceil((due_ms - now_ms) / 1000)))


def schedule_name(task: DeliveryTask) -> str:
    return f"m-{task.message_id}-{task.attempt}"


class SchedulerDelays:
    """Long waits as EventBridge Scheduler one-time schedules in Postbox's group."""

    def __init__(
        self, group: str, role_arn: str, queue_url: str, client: EventBridgeSchedulerClient | None = None
    ) -> None:
        self.group = group
        self.role_arn = role_arn
        self.queue_url = queue_url
        self._client = client

    def schedule(self, task: DeliveryTask, due_ms: int) -> None:
        fire_ms = due_ms - due_ms % _MINUTE_MS  # the minute the wait ends in; SQS delays the rest
        target_input = {
            "QueueUrl": self.queue_url,
            "MessageBody": task.model_dump_json(by_alias=True),
            "DelaySeconds": math.ceil((due_ms - fire_ms) / 1000),
        }
        at = datetime.fromtimestamp(fire_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
        client = self._client or aws.scheduler()
        try:
            client.create_schedule(
                Name=schedule_name(task),
                GroupName=self.group,
                ScheduleExpression=f"at({at})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={
                    "Arn": SQS_SEND_MESSAGE_TARGET,
                    "RoleArn": self.role_arn,
                    "Input": json.dumps(target_input),
                    "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConflictException":
                raise  # a conflict means this very wait is scheduled already (a retried record): nothing to do


class SqsDeliveryQueue:
    def __init__(self, queue_url: str, delays: SchedulerDelays | None = None, client: SQSClient | None = None) -> None:
        self.queue_url = queue_url
        self.delays = delays
        self._client = client

    def send(self, task: DeliveryTask, due_ms: int, now_ms: int) -> None:
        if self.delays is not None and due_ms - now_ms > MAX_SQS_DELAY_SECONDS * 1000:
            self.delays.schedule(task, due_ms)
            return
        client = self._client or aws.sqs()
        client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=task.model_dump_json(by_alias=True),
            DelaySeconds=delay_until(due_ms, now_ms),
        )

    def send_many(self, tasks: Sequence[tuple[DeliveryTask, int]], now_ms: int) -> list[DeliveryTask]:
        if len(tasks) == 1:
            self.send(*tasks[0], now_ms)  # a failure raises: the caller knows which task it was
            return []
        failed: list[DeliveryTask] = []
        batch: list[tuple[DeliveryTask, int]] = []
        for task, due_ms in tasks:
            if self.delays is not None and due_ms - now_ms > MAX_SQS_DELAY_SECONDS * 1000:
                try:
                    self.delays.schedule(task, due_ms)
                except Exception:
                    logger.exception("could not schedule a delivery record", message_id=task.message_id)
                    failed.append(task)
            else:
                batch.append((task, due_ms))
        client = self._client or aws.sqs()
        for start in range(0, len(batch), SQS_BATCH):
            chunk = batch[start : start + SQS_BATCH]
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {
                    "Id": str(i),
                    "MessageBody": task.model_dump_json(by_alias=True),
                    "DelaySeconds": delay_until(due, now_ms),
                }
                for i, (task, due) in enumerate(chunk)
            ]
            try:
                answer = client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except Exception:
                logger.exception("could not send delivery records", count=len(chunk))
                failed += [task for task, _ in chunk]
                continue
            failed += [chunk[int(entry["Id"])][0] for entry in answer.get("Failed", [])]
        return failed
