"""Queue slots: the messages of a FIFO queue waiting for a slot, and the transaction that gives one a slot."""

from __future__ import annotations

from enum import StrEnum

from botocore.exceptions import ClientError

from functions.shared.dynamo import Conditions, DynamoRepository, cancellation_reasons, from_item
from functions.stores.message_items import QUEUE_INDEX, VISIBLE, state_key
from functions.stores.messages import MessageStore
from functions.stores.queues import QueueRepository


class DispatchOutcome(StrEnum):
    DISPATCHED = "dispatched"
    QUEUE_FULL = "queue_full"  # (or paused, or deleted)
    GONE = "gone"  # no longer waiting: dispatched by someone else, or cancelled


class QueueSlots(DynamoRepository):
    def __init__(self, store: MessageStore, queues: QueueRepository) -> None:
        super().__init__(store.table_name, store.injected_client)
        self.queues = queues

    def waiting(self, queue_name: str, limit: int, now_ms: int) -> list[str]:
        """The oldest messages waiting for a slot of the queue (FIFO: UUIDv7 ids are in publish order)."""
        query = Conditions().not_expired(VISIBLE, now_ms).query_arguments("queueWaiting = :queue", queue=queue_name)
        page = self.client.query(
            TableName=self.table_name, IndexName=QUEUE_INDEX, ScanIndexForward=True, Limit=limit, **query
        )
        return [str(from_item(item)["sk"]) for item in page.get("Items", [])]

    def count_waiting(self, queue_name: str) -> int:
        query = Conditions().query_arguments("queueWaiting = :queue", queue=queue_name)
        total, arguments = 0, {"TableName": self.table_name, "IndexName": QUEUE_INDEX, "Select": "COUNT", **query}
        while True:
            page = self.client.query(**arguments)
            total += page.get("Count", 0)
            if "LastEvaluatedKey" not in page:
                return total
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def dispatch(self, message_id: str, queue_name: str) -> DispatchOutcome:
        """Take a slot of the queue for a waiting message, in one transaction."""
        update = {
            "Update": {
                "TableName": self.table_name,
                "Key": state_key(message_id),
                "UpdateExpression": "REMOVE queueWaiting",
                "ConditionExpression": "attribute_exists(queueWaiting)",
            }
        }
        try:
            self.client.transact_write_items(TransactItems=[self.queues.reserve_slot(queue_name), update])  # type: ignore[list-item]
        except ClientError as exc:
            reasons = cancellation_reasons(exc)
            if reasons[:1] == ["ConditionalCheckFailed"]:
                return DispatchOutcome.QUEUE_FULL
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                return DispatchOutcome.GONE
            raise
        return DispatchOutcome.DISPATCHED
