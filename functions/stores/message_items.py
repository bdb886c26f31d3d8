"""The messages table's items (layout: functions/shared/resources.py MESSAGES_TABLE): their keys, how a message is
written into them, and how its status is read back.

A message is its `request` item (pk the message id, written once) and its `state` item (pk `state#<shard>`, sk the
message id), which holds its event log and the request's few filterable attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from functions.core.codec import flow_attributes, flow_from_attributes, request_attributes
from functions.core.lifecycle import FINAL, NOT_BEFORE_SLACK_MS, WAITING, MessageState
from functions.core.log import LOG
from functions.core.models import AttemptResult, MessageRequest, MessageStatus
from functions.shared.dynamo import epoch_s, is_expired, to_item
from functions.shared.resources import MESSAGES_TABLE
from functions.shared.shards import shard_key

REQUEST = "request"
STATE = "state"  # state items: pk `state#<shard>`, sk the message id
DEDUP = "dedup"
PENDING = "pending"  # `pendingKey` is `pending#<shard>` while a message that waits is not finished (sparse index)
# Which unfinished messages the pending index holds: those that may wait (a delay, flow control, a FIFO queue) from
# their publish, and from a retry on, any other still unfinished TRACK_AFTER_MS after its creation (the sweep marks
# them, then moves the watermark item on). Readers scan the state items created after the watermark for the rest:
# so a first try (published, claimed, delivered within that time) never writes the index.
TRACK_AFTER_MS = 60_000  # above the API's longest request (30 s): a publish has written its state item by then
WATERMARK_KEY = {"pk": "sweep", "sk": "tracked"}  # `until`: every message created before it is tracked if unfinished
LATE = "late"  # `late#<shard>` markers: pk, sk the event id, `messageId`
# A log entry made this long after its message's creation is also marked under `late#<shard>` (written before the
# entry, so a marker may lack its entry, never the reverse): the log lists messages by creation time, and looks this
# far beyond a message's creation for its entries; later ones it finds through their markers.
LATE_AFTER_MS = 15_000
REQUEST_DEDUP = "requestDedupId"  # the request item's dedup id
VISIBLE = "visibleUntil"  # (unix s, as TTL) the message is shown until then; the item lives on while its log does
PENDING_INDEX = MESSAGES_TABLE.indexes[0].name
DEDUP_INDEX = MESSAGES_TABLE.indexes[1].name
QUEUE_INDEX = MESSAGES_TABLE.indexes[2].name
TTL = MESSAGES_TABLE.ttl_attribute or "expiresAt"
FINAL_VALUES = tuple(state.value for state in FINAL)
WAITING_VALUES = tuple(state.value for state in WAITING)
ID_SLACK_MS = 1000  # a UUIDv7 may be made up to this far ahead of its millisecond (functions/shared/ids.py)


def key(pk: str, sk: str) -> dict[str, Any]:
    return to_item({"pk": pk, "sk": sk})


def result_fields(result: AttemptResult) -> dict[str, Any]:
    return {"lastStatus": result.status, "lastError": result.error, "lastLatencyMs": result.latency_ms}


def request_key(message_id: str) -> dict[str, Any]:
    return key(message_id, REQUEST)


def state_key(message_id: str) -> dict[str, Any]:
    """The key of a message's state item: under its write shard, sorted by id (creation time)."""
    return key(shard_key(STATE, message_id), message_id)


def hidden(state_item: Mapping[str, Any], now_ms: int) -> bool:
    """The message is no longer shown (finished long enough ago, or past its retention); its item may live on for
    its log."""
    return is_expired(state_item, VISIBLE, now_ms) or is_expired(state_item, TTL, now_ms)


def waits(request: MessageRequest, status: MessageStatus) -> bool:
    """A new message that may wait before its first attempt: tracked by the pending index from its publish."""
    if status.state.is_final:
        return False
    delayed = request.not_before_ms > status.updated_at_ms + NOT_BEFORE_SLACK_MS
    return delayed or request.flow_control is not None or request.queue_name is not None


def request_item(request: MessageRequest, expires_at_ms: int) -> dict[str, Any]:
    attributes = request_attributes(request)
    # (stored under another name than the state item's `dedupId`, which the byDedupId index is keyed by)
    attributes[REQUEST_DEDUP] = attributes.pop("dedupId")
    return to_item({"pk": request.message_id, "sk": REQUEST, **attributes, TTL: epoch_s(expires_at_ms)})


def state_item(
    request: MessageRequest, status: MessageStatus, visible_until_ms: int, expires_at_ms: int, created: dict[str, Any]
) -> dict[str, Any]:
    """The state item also carries the request's few filterable attributes (they never change), which the pending
    listings and the log's entries read, and the log with its first entry."""
    return to_item(
        {
            "pk": shard_key(STATE, request.message_id),
            "sk": request.message_id,
            "state": status.state.value,
            "attempt": status.attempt,
            "nextDeliveryAt": status.next_delivery_at_ms,
            "updatedAt": status.updated_at_ms,
            "pendingKey": shard_key(PENDING, request.message_id) if waits(request, status) else None,
            "url": request.url,
            "labels": list(request.labels) or None,
            "callerIp": request.caller_ip,
            "createdAt": request.created_at_ms,
            "dedupId": request.dedup_id,
            "topicName": request.topic_name,
            "scheduleId": request.schedule_id,
            "queueName": request.queue_name,
            "queueWaiting": request.queue_name if request.queue_name and not status.state.is_final else None,
            "method": request.method,
            "maxRetries": request.max_retries,
            "retryDelay": request.retry_delay,
            **flow_attributes(request.flow_control),
            LOG: [created],
            VISIBLE: epoch_s(visible_until_ms),
            TTL: epoch_s(expires_at_ms),
        }
    )


def status_of(item: Mapping[str, Any]) -> MessageStatus:
    def optional_int(name: str) -> int | None:
        return int(item[name]) if item.get(name) is not None else None

    return MessageStatus(
        state=MessageState(item["state"]),
        attempt=int(item["attempt"]),
        next_delivery_at_ms=int(item["nextDeliveryAt"]),
        updated_at_ms=int(item["updatedAt"]),
        claim_until_ms=optional_int("claimUntil"),
        last_response_status=optional_int("lastStatus"),
        last_error=item.get("lastError"),
        last_latency_ms=optional_int("lastLatencyMs"),
        dlq_id=item.get("dlqId"),
        cancel_requested=bool(item.get("cancelRequested", False)),
        follow_ups=tuple(item.get("followUps", ())),
        attempts=int(item.get("attempts", 0)),
        url=item.get("url", ""),
        labels=tuple(item.get("labels") or ()),
        caller_ip=item.get("callerIp"),
        topic_name=item.get("topicName"),
        schedule_id=item.get("scheduleId"),
        method=item.get("method"),
        max_retries=optional_int("maxRetries"),
        retry_delay=item.get("retryDelay"),
        queue_name=item.get("queueName"),
        queue_waiting=item.get("queueWaiting") is not None,
        flow_control=flow_from_attributes(item),
    )
