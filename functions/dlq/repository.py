"""Data access for the DLQ table: one item per dead-lettered message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from functions.messages.codec import header_map, request_attributes, request_from_attributes
from functions.messages.models import AttemptResult, DlqEntry
from functions.shared.dynamo import DynamoRepository, from_item, is_expired, to_item
from functions.shared.resources import DLQ_TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

TTL = DLQ_TABLE.ttl_attribute or "expiresAt"
LISTING = "dlq"  # the single partition of the byTime index


class DlqRepository(DynamoRepository):
    def put_in_transaction(self, entry: DlqEntry, expires_at_s: int) -> TransactWriteItemTypeDef:
        """The transaction item that stores `entry` (the message's FAILED write goes in the same transaction)."""
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": _item(entry, expires_at_s),
                "ConditionExpression": "attribute_not_exists(dlqId)",
            }
        }

    def get(self, dlq_id: str, now_s: int) -> DlqEntry | None:
        answer = self.client.get_item(TableName=self.table_name, Key=to_item({"dlqId": dlq_id}), ConsistentRead=True)
        item = answer.get("Item")
        if not item:
            return None
        stored = from_item(item)
        return None if is_expired(stored, TTL, now_s) else _entry(stored)


def _item(entry: DlqEntry, expires_at_s: int) -> dict[str, Any]:
    response = entry.response
    return to_item(
        {
            "dlqId": entry.dlq_id,
            "listing": LISTING,
            "dlqCreatedAt": entry.created_at_ms,
            "messageId": entry.request.message_id,
            **request_attributes(entry.request),
            "responseStatus": response.status,
            "responseHeader": response.header or None,
            "responseBody": response.body,
            "responseError": response.error,
            "responseLatencyMs": response.latency_ms,
            TTL: expires_at_s,
        }
    )


def _entry(item: Mapping[str, Any]) -> DlqEntry:
    status = item.get("responseStatus")
    return DlqEntry(
        dlq_id=item["dlqId"],
        created_at_ms=int(item["dlqCreatedAt"]),
        request=request_from_attributes(item["messageId"], item),
        response=AttemptResult(
            status=int(status) if status is not None else None,
            header=header_map(item.get("responseHeader")),
            body=item.get("responseBody", b""),
            error=item.get("responseError"),
            latency_ms=int(item.get("responseLatencyMs", 0)),
        ),
    )
