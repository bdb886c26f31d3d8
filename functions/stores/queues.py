"""Data access for the queues table: one item per queue, its slots counted with conditional updates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from functions.core.models import Queue
from functions.shared.dynamo import DynamoRepository, from_item, to_item, values
from functions.shared.resources import QUEUES_TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

LISTING = "queue"
ALL = QUEUES_TABLE.indexes[0].name


class QueueRepository(DynamoRepository):
    def get(self, name: str) -> Queue | None:
        item = self.client.get_item(TableName=self.table_name, Key=_key(name), ConsistentRead=True).get("Item")
        stored = from_item(item) if item else None
        # An item without `createdAt` is only a slot counter left behind by a deleted queue.
        return _queue(stored) if stored and "createdAt" in stored else None

    def list(self) -> list[Queue]:
        return [_queue(item) for item in self.listing(ALL, LISTING)]

    def upsert(self, name: str, now_ms: int, *, parallelism: int | None, paused: bool | None) -> Queue:
        """Create the queue (parallelism 1, running) or change the given settings; slots in use are kept."""
        sets = [
            "listing = :listing",
            "createdAt = if_not_exists(createdAt, :now)",
            "updatedAt = :now",
            "inFlight = if_not_exists(inFlight, :zero)",
            "parallelism = " + (":parallelism" if parallelism is not None else "if_not_exists(parallelism, :one)"),
            "paused = " + (":paused" if paused is not None else "if_not_exists(paused, :false)"),
        ]
        vals: dict[str, Any] = {":listing": LISTING, ":now": now_ms, ":zero": 0}
        vals |= {":parallelism": parallelism} if parallelism is not None else {":one": 1}
        vals |= {":paused": paused} if paused is not None else {":false": False}
        answer = self.client.update_item(
            TableName=self.table_name,
            Key=_key(name),
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeValues=values(vals),
            ReturnValues="ALL_NEW",
        )
        return _queue(from_item(answer["Attributes"]))

    def set_paused(self, name: str, paused: bool, now_ms: int) -> bool:
        return self.update_paused({"name": name}, "createdAt", paused, now_ms)

    def delete(self, name: str) -> None:
        self.client.delete_item(TableName=self.table_name, Key=_key(name))

    def reserve_slot(self, name: str) -> TransactWriteItemTypeDef:
        """Transaction item taking one delivery slot; it fails when the queue is full, paused or gone."""
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(name),
                "UpdateExpression": "SET inFlight = inFlight + :one",
                "ConditionExpression": "attribute_exists(createdAt) AND inFlight < parallelism AND paused = :false",
                "ExpressionAttributeValues": values({":one": 1, ":false": False}),
            }
        }

    def release_slot(self, name: str) -> TransactWriteItemTypeDef:
        """Transaction item giving a slot back (written with the message's final state). Unconditional, so a
        queue deleted meanwhile never blocks a message from finishing."""
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(name),
                "UpdateExpression": "ADD inFlight :minus",
                "ExpressionAttributeValues": values({":minus": -1}),
            }
        }


def _key(name: str) -> dict[str, Any]:
    return to_item({"name": name})


def _queue(item: Mapping[str, Any]) -> Queue:
    return Queue(
        name=item["name"],
        parallelism=int(item.get("parallelism", 1)),
        paused=bool(item.get("paused", False)),
        created_at_ms=int(item["createdAt"]),
        updated_at_ms=int(item.get("updatedAt", item["createdAt"])),
        in_flight=max(0, int(item.get("inFlight", 0))),
    )
