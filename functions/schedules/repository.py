"""Data access for the schedules table: one item per schedule, listed through the `all` index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from functions.schedules.models import Schedule
from functions.shared.dynamo import DynamoRepository, from_item, to_item, values
from functions.shared.resources import SCHEDULES_TABLE

LISTING = "schedule"
ALL = SCHEDULES_TABLE.indexes[0].name


class ScheduleStorePort(Protocol):
    """What the schedule service uses of `ScheduleRepository`."""

    def delete(self, schedule_id: str) -> None: ...

    def get(self, schedule_id: str) -> Schedule | None: ...

    def list(self) -> list[Schedule]: ...

    def put(self, schedule: Schedule) -> None: ...

    def record_fire(self, schedule_id: str, tick_ms: int, message_ids: Sequence[str], error: str | None) -> bool: ...

    def set_paused(self, schedule_id: str, paused: bool, now_ms: int) -> bool: ...


class ScheduleRepository(DynamoRepository):
    def get(self, schedule_id: str) -> Schedule | None:
        item = self.client.get_item(TableName=self.table_name, Key=_key(schedule_id), ConsistentRead=True).get("Item")
        return _schedule(from_item(item)) if item else None

    def list(self) -> list[Schedule]:
        return [_schedule(item) for item in self.listing(ALL, LISTING)]

    def put(self, schedule: Schedule) -> None:
        """Create, or overwrite (a schedule id given again replaces the schedule, keeping its creation time)."""
        self.client.put_item(TableName=self.table_name, Item=_item(schedule))

    def delete(self, schedule_id: str) -> None:
        self.client.delete_item(TableName=self.table_name, Key=_key(schedule_id))

    def set_paused(self, schedule_id: str, paused: bool, now_ms: int) -> bool:
        return self.update_paused({"scheduleId": schedule_id}, "scheduleId", paused, now_ms)

    def record_fire(self, schedule_id: str, tick_ms: int, message_ids: Sequence[str], error: str | None) -> bool:
        """Note the tick fired and what it published; False when this tick (or a later one) was recorded already."""
        return self.conditional_update(
            Key=_key(schedule_id),
            UpdateExpression="SET lastScheduleTime = :tick, lastMessageIds = :ids"
            + (", scheduleError = :error" if error else " REMOVE scheduleError"),
            ConditionExpression="attribute_exists(scheduleId) AND "
            "(attribute_not_exists(lastScheduleTime) OR lastScheduleTime < :tick)",
            ExpressionAttributeValues=values(
                {":tick": tick_ms, ":ids": list(message_ids), **({":error": error} if error else {})}
            ),
        )


def _key(schedule_id: str) -> dict[str, Any]:
    return to_item({"scheduleId": schedule_id})


def _item(schedule: Schedule) -> dict[str, Any]:
    return to_item(
        {
            "scheduleId": schedule.schedule_id,
            "listing": LISTING,
            "destination": schedule.destination,
            "cron": schedule.cron,
            "headers": schedule.headers or None,
            "body": schedule.body,
            "queueName": schedule.queue_name,
            "callerIp": schedule.caller_ip,
            "paused": schedule.paused,
            "createdAt": schedule.created_at_ms,
            "updatedAt": schedule.updated_at_ms,
            "lastScheduleTime": schedule.last_schedule_time_ms,
            "lastMessageIds": list(schedule.last_message_ids) or None,
            "scheduleError": schedule.error,
        }
    )


def _schedule(item: Mapping[str, Any]) -> Schedule:
    return Schedule(
        schedule_id=item["scheduleId"],
        destination=item["destination"],
        cron=item["cron"],
        headers=dict(item.get("headers", {})),
        body=item.get("body", b""),
        queue_name=item.get("queueName"),
        caller_ip=item.get("callerIp"),
        paused=bool(item.get("paused", False)),
        created_at_ms=int(item["createdAt"]),
        updated_at_ms=int(item["updatedAt"]),
        last_schedule_time_ms=int(item["lastScheduleTime"]) if item.get("lastScheduleTime") is not None else None,
        last_message_ids=tuple(item.get("lastMessageIds", ())),
        error=item.get("scheduleError"),
    )
