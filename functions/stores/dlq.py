"""Data access for the DLQ table: one item per dead-lettered message, under the write shard of its dlqId; a listing
merges the shards by dlqId (functions/shared/shards.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from functions.core.codec import header_map, request_attributes, request_from_attributes
from functions.core.filters import RecordFilter
from functions.core.models import AttemptResult, DlqEntry
from functions.shared.dynamo import (
    Conditions,
    DynamoRepository,
    epoch_s,
    from_item,
    is_expired,
    to_item,
    values,
)
from functions.shared.errors import BadRequestError
from functions.shared.ids import is_uuid7, uuid7_bound
from functions.shared.paging import decode_cursor, encode_cursor
from functions.shared.resources import DLQ_TABLE, WRITE_SHARDS
from functions.shared.shards import merged, shard_key
from functions.stores.bodies import BodyStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

TTL = DLQ_TABLE.ttl_attribute or "expiresAt"
LISTING = "dlq"  # the shards' prefix (`dlq#<n>`), and the cursor's mark
_FILTERED_PAGE = 100  # entries read per shard query while a filter is checked here
# How many entries a page may read beyond the `count` it answers (a filter that matches few reads more per match).
MAX_EXAMINED_PER_PAGE = 1000


# (the repository's `list` method hides the builtin in its class)
Entries = list[DlqEntry]
Items = list[dict[str, Any]]


@dataclass(frozen=True)
class DlqPage:
    entries: list[DlqEntry]
    cursor: str | None  # None on the last page


class DlqRepository(DynamoRepository):
    def __init__(self, table_name: str, bodies: BodyStore, client: DynamoDBClient | None = None) -> None:
        super().__init__(table_name, client)
        self.bodies = bodies

    def put_in_transaction(self, entry: DlqEntry, expires_at_ms: int) -> TransactWriteItemTypeDef:
        """The transaction item that stores `entry` (the message's FAILED write goes in the same transaction)."""
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": _item(entry, expires_at_ms),
                "ConditionExpression": "attribute_not_exists(dlqId)",
            }
        }

    def delete_in_transaction(self, dlq_id: str, now_ms: int) -> TransactWriteItemTypeDef:
        """The transaction item that removes a live entry (fails the transaction when it is gone)."""
        return {
            "Delete": {
                "TableName": self.table_name,
                "Key": _key(dlq_id),
                "ConditionExpression": "attribute_exists(dlqId) AND (attribute_not_exists(#ttl) OR #ttl > :now)",
                "ExpressionAttributeNames": {"#ttl": TTL},
                "ExpressionAttributeValues": values({":now": epoch_s(now_ms)}),
            }
        }

    def get(self, dlq_id: str, now_ms: int) -> DlqEntry | None:
        answer = self.client.get_item(TableName=self.table_name, Key=_key(dlq_id), ConsistentRead=True)
        item = answer.get("Item")
        if not item:
            return None
        stored = from_item(item)
        return None if is_expired(stored, TTL, now_ms) else self._entry(stored)

    def delete(self, dlq_id: str, now_ms: int) -> bool:
        """Remove a live entry; False when there is none (never stored, deleted, or expired)."""
        return self.conditional(self.client.delete_item, **self.delete_in_transaction(dlq_id, now_ms)["Delete"])

    def list(
        self, where: RecordFilter, *, count: int, now_ms: int, cursor: str | None = None, newest_first: bool = True
    ) -> DlqPage:
        """A page of at most `count` entries matching `where`, by creation time: the shards' queries merged by dlqId,
        read until `count` + 1 match (the one more tells whether another page exists).

        A page reads at most `count` + MAX_EXAMINED_PER_PAGE entries, whatever the filter and the cursor: when a
        filter matches few of them, the page holds fewer than `count` and its cursor goes on from the last one read.
        """
        if where.matches_nothing:
            return DlqPage([], None)
        lowest = uuid7_bound(where.from_ms or 0, upper=False)
        highest = uuid7_bound(where.to_ms if where.to_ms is not None else (1 << 48) - 1, upper=True)
        after = _cursor_dlq_id(cursor) if cursor else None
        if after is not None:
            lowest, highest = (lowest, min(highest, after)) if newest_first else (max(lowest, after), highest)
        if lowest > highest:
            return DlqPage([], None)
        query = {
            "TableName": self.table_name,
            **Conditions()
            .not_expired(TTL, now_ms)
            .query_arguments(
                "shard = :shard AND dlqId BETWEEN :lowest AND :highest", shard="", lowest=lowest, highest=highest
            ),
        }
        per_shard = -(-(count + 1) // WRITE_SHARDS) + 1
        entries = merged(
            self.client,
            LISTING,
            query,
            sort_attribute="dlqId",
            descending=newest_first,
            first_page=per_shard if where.is_empty else max(per_shard, _FILTERED_PAGE // 4),
        )
        found: list[dict[str, Any]] = []
        examined, last_read = 0, None
        for item in entries:
            if item["dlqId"] == after:
                continue
            if examined >= count + MAX_EXAMINED_PER_PAGE:  # the budget is spent: go on from the last one read
                return self._page(found, last_read)
            examined, last_read = examined + 1, str(item["dlqId"])
            if where.matches(item):
                found.append(item)
                if len(found) > count:
                    break
        more = len(found) > count
        found = found[:count]
        return self._page(found, found[-1]["dlqId"] if more else None)

    def _page(self, items: Items, cursor_id: str | None) -> DlqPage:
        cursor = encode_cursor({"dlqId": cursor_id, "listing": LISTING}) if cursor_id else None
        return DlqPage(entries=[self._entry(item) for item in items], cursor=cursor)

    def get_many(self, dlq_ids: Sequence[str], where: RecordFilter, now_ms: int) -> Entries:
        """The live entries among `dlq_ids` that match `where` (dates: their creation time), in the order given;
        one BatchGetItem per 100 ids."""
        if where.matches_nothing:
            return []
        ids = list(dict.fromkeys(dlq_ids))
        items = {str(item["dlqId"]): item for item in self.batch_get([_key(dlq_id) for dlq_id in ids])}
        return [
            self._entry(item)
            for item in (items.get(dlq_id) for dlq_id in ids)
            if item is not None
            and not is_expired(item, TTL, now_ms)
            and where.matches(item)
            and where.in_range(int(item["dlqCreatedAt"]))
        ]

    def _entry(self, item: Mapping[str, Any]) -> DlqEntry:
        status = item.get("responseStatus")
        body = self.bodies.get(item["bodyRef"]) if item.get("bodyRef") else None
        return DlqEntry(
            dlq_id=item["dlqId"],
            created_at_ms=int(item["dlqCreatedAt"]),
            request=request_from_attributes(item["messageId"], item, body),
            response=AttemptResult(
                status=int(status) if status is not None else None,
                header=header_map(item.get("responseHeader")),
                body=item.get("responseBody", b""),
                error=item.get("responseError"),
                latency_ms=int(item.get("responseLatencyMs", 0)),
            ),
        )


def _cursor_dlq_id(cursor: str) -> str:
    """The entry a page's cursor goes on from: 400 for anything but a cursor Postbox could have made."""
    key = decode_cursor(cursor, {"dlqId", "listing"})
    if key["listing"] != LISTING or not is_uuid7(key["dlqId"]):
        raise BadRequestError("invalid cursor")
    return str(key["dlqId"])


def _key(dlq_id: str) -> dict[str, Any]:
    return to_item({"shard": shard_key(LISTING, dlq_id), "dlqId": dlq_id})


def _item(entry: DlqEntry, expires_at_ms: int) -> dict[str, Any]:
    response = entry.response
    return to_item(
        {
            "dlqId": entry.dlq_id,
            "shard": shard_key(LISTING, entry.dlq_id),
            "dlqCreatedAt": entry.created_at_ms,
            "messageId": entry.request.message_id,
            **request_attributes(entry.request),
            "responseStatus": response.status if response.status is not None else 0,
            "responseHeader": response.header or None,
            "responseBody": response.body,
            "responseError": response.error,
            "responseLatencyMs": response.latency_ms,
            TTL: epoch_s(expires_at_ms),
        }
    )
