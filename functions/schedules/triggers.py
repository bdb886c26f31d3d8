"""Each cron schedule is an EventBridge Scheduler recurring schedule that invokes the worker to fire it."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from functions.schedules.cron import Cron
from functions.shared import aws

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"  # Scheduler fills in the time the firing is for


def trigger_name(schedule_id: str) -> str:
    name = f"cron-{schedule_id}"
    return name if len(name) <= 64 else f"cron-{hashlib.sha256(schedule_id.encode()).hexdigest()[:40]}"


class TriggersPort(Protocol):
    """What fires a schedule's cron (EventBridge Scheduler)."""

    def put(self, schedule_id: str, cron: Cron) -> None: ...

    def delete(self, schedule_id: str) -> None: ...


class SchedulerTriggers:
    def __init__(
        self, group: str, role_arn: str, target_arn: str, client: EventBridgeSchedulerClient | None = None
    ) -> None:
        self.group = group
        self.role_arn = role_arn
        self.target_arn = target_arn
        self._client = client

    @property
    def client(self) -> EventBridgeSchedulerClient:
        return self._client or aws.scheduler()

    def put(self, schedule_id: str, cron: Cron) -> None:
        """Create or replace the recurring trigger of a schedule."""
        expression, exact = cron.scheduler_expression()
        arguments: dict[str, Any] = {
            "Name": trigger_name(schedule_id),
            "GroupName": self.group,
            "ScheduleExpression": expression,
            "ScheduleExpressionTimezone": cron.timezone if exact else "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "Target": {
                "Arn": self.target_arn,
                "RoleArn": self.role_arn,
                "Input": json.dumps({"schedule": schedule_id, "scheduledTime": SCHEDULED_TIME}),
            },
        }
        try:
            self.client.create_schedule(**arguments)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConflictException":
                raise
            self.client.update_schedule(**arguments)

    def delete(self, schedule_id: str) -> None:
        try:
            self.client.delete_schedule(Name=trigger_name(schedule_id), GroupName=self.group)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
