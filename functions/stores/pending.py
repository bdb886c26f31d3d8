"""The set of unfinished messages: listed by cancel-all and the flow control counts, and swept for lost records.

The sparse `pending` index tracks the messages that may wait (delay, flow control, queue) from their publish, and
every message from its first retry. The sweep tracks the rest still unfinished TRACK_AFTER_MS after their creation
and then moves a watermark; readers add the state items created after the watermark. So a first try (published,
claimed, delivered within that time) never writes the index.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from functions.core.filters import RecordFilter
from functions.core.lifecycle import MessageState
from functions.shared.dynamo import Conditions, DynamoRepository, from_item, to_item, values
from functions.shared.ids import uuid7_bound
from functions.shared.shards import merged, shard_key
from functions.stores.message_items import (
    FINAL_VALUES,
    ID_SLACK_MS,
    PENDING,
    PENDING_INDEX,
    STATE,
    TRACK_AFTER_MS,
    WAITING_VALUES,
    WATERMARK_KEY,
    hidden,
    state_key,
)
from functions.stores.messages import MessageStore

_FINAL_NAMES = tuple(f":final{i}" for i in range(len(FINAL_VALUES)))  # their placeholders in a condition


class PendingSet(DynamoRepository):
    def __init__(self, store: MessageStore) -> None:
        super().__init__(store.table_name, store.injected_client)
        self.store = store

    def pending_ids(self, where: RecordFilter, now_ms: int) -> Iterator[str]:
        """Ids of the messages not finished yet that match `where` (dates: when they were created), oldest first; the
        sparse pending index's shards, merged."""
        if where.matches_nothing:
            return
        for item in self._pending(now_ms):
            if _pending_match(item, where):
                yield str(item["sk"])

    def matching_ids(self, message_ids: Sequence[str], where: RecordFilter, now_ms: int) -> list[str]:
        """Those of `message_ids` whose message matches `where` (a read of each state item)."""
        if where.is_empty:
            return list(dict.fromkeys(message_ids))
        states = self.store.states(list(dict.fromkeys(message_ids)))
        return [
            message_id
            for message_id, item in states.items()
            if not hidden(item, now_ms) and _pending_match(item, where)
        ]

    def count_pending(self, now_ms: int, **equals: Any) -> int:
        """How many unfinished messages have these attribute values (`state=`, `flowControlKey=`, ...)."""
        return sum(1 for item in self._pending(now_ms) if all(item.get(k) == v for k, v in equals.items()))

    def overdue(self, cutoff_ms: int, now_ms: int) -> Iterator[tuple[str, int]]:
        """(id, attempt) of pending messages whose record should have arrived before `cutoff_ms` but did not:
        waiting past their delivery time, or claimed by a worker whose lease ran out long ago. (Those created after
        the watermark are not: when `cutoff_ms` is before it, as after the sweep's tracking, only tracked ones are
        read.)"""
        for item in self._pending(now_ms, untracked=cutoff_ms > self._watermark_ms()):
            state, waiting = item["state"], item.get("queueWaiting") is not None  # waiting for a slot: not overdue
            late = state in WAITING_VALUES and int(item["nextDeliveryAt"]) < cutoff_ms
            stuck = state == MessageState.ACTIVE.value and int(item.get("claimUntil") or 0) < cutoff_ms
            if (late or stuck) and not waiting:
                yield str(item["sk"]), int(item["attempt"])

    def _pending(self, now_ms: int, *, untracked: bool = True) -> Iterator[dict[str, Any]]:
        """The state items of every unfinished message, oldest first: those the pending index tracks (the keys from
        its shards, then the items, a batch read per 100), merged with those created since the watermark (the state
        items' own shards), which holds the untracked ones (unless `untracked` is False)."""
        query = {
            "TableName": self.table_name,
            "IndexName": PENDING_INDEX,
            "KeyConditionExpression": "pendingKey = :shard",
        }
        tracked = self._in_batches(
            merged(self.client, PENDING, query, sort_attribute="sk", descending=False, first_page=100), now_ms
        )
        if not untracked:
            yield from tracked
            return
        since = uuid7_bound(max(0, self._watermark_ms() - ID_SLACK_MS), upper=False)
        recent = merged(
            self.client,
            STATE,
            {
                "TableName": self.table_name,
                **Conditions().query_arguments("pk = :shard AND sk >= :since", shard="", since=since),
            },
            sort_attribute="sk",
            descending=False,
            first_page=100,
        )
        # (tracked or not: one the sweep tracks while this reads is then found twice, never missed)
        unfinished = (item for item in recent if item["state"] not in FINAL_VALUES and not hidden(item, now_ms))
        last = None
        for item in heapq.merge(tracked, unfinished, key=lambda item: str(item["sk"])):
            if item["sk"] != last:
                last = item["sk"]
                yield item

    def _in_batches(self, keys: Iterator[dict[str, Any]], now_ms: int) -> Iterator[dict[str, Any]]:
        batch: list[str] = []
        for key in keys:
            batch.append(str(key["sk"]))
            if len(batch) == 100:
                yield from self._live_states(batch, now_ms)
                batch = []
        if batch:
            yield from self._live_states(batch, now_ms)

    def track_waiting(self, now_ms: int) -> int:
        """Have the pending index track every message created before TRACK_AFTER_MS ago that is not finished yet (the
        sweep's job, each minute), then move the watermark there: readers scan only the state items created after
        it. Returns how many it began to track."""
        until = now_ms - TRACK_AFTER_MS
        since = self._watermark_ms()
        if until <= since:
            return 0
        query = Conditions().query_arguments(
            "pk = :shard AND sk BETWEEN :since AND :until",
            shard="",
            since=uuid7_bound(max(0, since - ID_SLACK_MS), upper=False),
            until=uuid7_bound(until, upper=True),
        )
        tracked = 0
        for item in merged(
            self.client,
            STATE,
            {"TableName": self.table_name, **query},
            sort_attribute="sk",
            descending=False,
            first_page=100,
        ):
            if item.get("pendingKey") is not None or item["state"] in FINAL_VALUES:
                continue
            message_id = str(item["sk"])
            tracked += self.conditional_update(
                Key=state_key(message_id),
                UpdateExpression="SET pendingKey = :shard",
                ConditionExpression=f"attribute_exists(pk) AND NOT #state IN ({', '.join(_FINAL_NAMES)})",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=values(
                    {":shard": shard_key(PENDING, message_id), **dict(zip(_FINAL_NAMES, FINAL_VALUES, strict=True))}
                ),
            )
        self.conditional_update(  # (a later watermark written by another sweep meanwhile is kept)
            Key=to_item(WATERMARK_KEY),
            UpdateExpression="SET #until = :until",
            ConditionExpression="attribute_not_exists(#until) OR #until < :until",
            ExpressionAttributeNames={"#until": "until"},
            ExpressionAttributeValues=values({":until": until}),
        )
        return tracked

    def _watermark_ms(self) -> int:
        item = self.client.get_item(TableName=self.table_name, Key=to_item(WATERMARK_KEY), ConsistentRead=True)
        return int(from_item(item["Item"]).get("until", 0)) if "Item" in item else 0

    def _live_states(self, message_ids: list[str], now_ms: int) -> Iterator[dict[str, Any]]:
        states = self.store.states(message_ids)
        for message_id in message_ids:
            item = states.get(message_id)
            if item is not None and not hidden(item, now_ms) and item.get("pendingKey") is not None:
                yield item


def _pending_match(state_item: Mapping[str, Any], where: RecordFilter) -> bool:
    return where.matches(state_item) and where.in_range(int(state_item["createdAt"]))
