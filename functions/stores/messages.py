"""Data access for the messages table (layout: functions/shared/resources.py MESSAGES_TABLE).

A message is its `request` item (written once) and its `state` item, which holds its event log. Every state change
is one conditional update of the state item that also appends the change's log entry: two workers can never both
move the same message, and the log always has the state. Publishing writes the request item, then the state item:
a crash between them leaves a request item that nothing refers to, which its TTL removes. A transaction is used
only where items must change together: a dedup key with its message, a DLQ entry with the FAILED state, a queue's
slot, the callback messages an outcome creates.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from functions.core.codec import (
    flow_attributes,
    flow_from_attributes,
    redaction_from_attribute,
    request_attributes,
    request_from_attributes,
)
from functions.core.events import MAX_LOGGED_BODY_BYTES, MessageEvent, request_event
from functions.core.filters import RecordFilter
from functions.core.log import LOG, log_entry
from functions.core.models import AttemptResult, Message, MessageRequest, MessageState, MessageStatus
from functions.core.redaction import shown_body
from functions.shared.dynamo import (
    Conditions,
    DynamoRepository,
    cancellation_reasons,
    from_item,
    is_expired,
    query_all,
    to_item,
    values,
)
from functions.shared.ids import time_of_uuid7, uuid7, uuid7_bound
from functions.shared.resources import MESSAGES_TABLE
from functions.shared.shards import merged, shard_key
from functions.stores.bodies import BodyStore, body_key
from functions.stores.queues import QueueRepository

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

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
VISIBLE = "visibleUntil"  # (unix s) the message is shown until then; the item lives on while its log does
PENDING_INDEX = MESSAGES_TABLE.indexes[0].name
DEDUP_INDEX = MESSAGES_TABLE.indexes[1].name
QUEUE_INDEX = MESSAGES_TABLE.indexes[2].name
TTL = MESSAGES_TABLE.ttl_attribute or "expiresAt"
_NOT_BEFORE_SLACK_MS = 1000  # SQS delays are whole seconds and not exact: accept a record up to 1 s early
_WAITING = (MessageState.CREATED.value, MessageState.RETRY.value)
_FINAL = tuple(state.value for state in MessageState if state.is_final)
_FINAL_VALUES = tuple(f":final{i}" for i in range(len(_FINAL)))  # their placeholders in a condition
_ID_SLACK_MS = 1000  # a UUIDv7 may be made up to this far ahead of its millisecond (functions/shared/ids.py)


@dataclass(frozen=True)
class ClaimRefused:
    """Why a claim did not succeed: the message's current status, or None when it does not exist."""

    status: MessageStatus | None


@dataclass(frozen=True)
class Stored:
    """Both items of a message as one read found them (either may be missing); the body is not fetched yet."""

    state_item: Mapping[str, Any] | None
    request_item: Mapping[str, Any] | None

    @cached_property
    def status(self) -> MessageStatus | None:
        return _status(self.state_item) if self.state_item else None


@dataclass(frozen=True)
class Created:
    message_id: str
    deduplicated: bool = False


@dataclass(frozen=True)
class NewMessage:
    """A message to store: its request, its first status, and when its items expire."""

    request: MessageRequest
    status: MessageStatus
    expires_at_s: int


class DispatchOutcome(StrEnum):
    DISPATCHED = "dispatched"
    QUEUE_FULL = "queue_full"  # (or paused, or deleted)
    GONE = "gone"  # no longer waiting: dispatched by someone else, or cancelled


class CancelOutcome(StrEnum):
    CANCELED = "canceled"  # was waiting: it will never be delivered
    REQUESTED = "requested"  # an attempt is in flight: no further attempt will be made
    FINISHED = "finished"  # already delivered, failed or cancelled
    NOT_FOUND = "not_found"


class MessageRepository(DynamoRepository):
    def __init__(
        self,
        table_name: str,
        bodies: BodyStore,
        inline_body_bytes: int,
        log_retention_s: int,
        queues: QueueRepository | None = None,
        client: DynamoDBClient | None = None,
    ) -> None:
        super().__init__(table_name, client)
        self.bodies = bodies
        self.inline_body_bytes = inline_body_bytes
        self.log_retention_s = log_retention_s
        self.queues = queues

    def _release(self, queue_name: str | None, dispatched: bool = True) -> list[TransactWriteItemTypeDef]:
        """The slot a finishing queue message gives back (none for one still waiting for a slot)."""
        if queue_name and dispatched and self.queues is not None:
            return [self.queues.release_slot(queue_name)]
        return []

    # --- creating ---------------------------------------------------------------------------------

    def new_message_items(self, new: NewMessage) -> list[TransactWriteItemTypeDef]:
        """The request item and the state item (with its CREATED entry) that store a new message, as transaction
        items (its body goes to S3 first when too large for an item)."""
        request = new.request
        if request.body_ref is None and len(request.body) > self.inline_body_bytes:
            key = body_key(request.message_id)
            self.bodies.put(key, request.body)
            request = request.model_copy(update={"body_ref": key})
        now = new.status.updated_at_ms
        created = request_event(request, MessageState.CREATED, event_id=uuid7(now), time_ms=now)
        # Both items outlive the message as long as its log does: the log shows the request's body and headers.
        log_expires_s = max(new.expires_at_s, now // 1000 + self.log_retention_s)
        state = _state_item(request, new.status, new.expires_at_s, log_expires_s, log_entry(created))
        return [
            {"Put": {"TableName": self.table_name, "Item": _request_item(request, log_expires_s)}},
            {"Put": {"TableName": self.table_name, "Item": state, "ConditionExpression": "attribute_not_exists(pk)"}},
        ]

    def create(
        self,
        new: NewMessage,
        *,
        dedup_until_s: int | None = None,
        now_s: int = 0,
        also: Sequence[TransactWriteItemTypeDef] = (),
    ) -> Created:
        """Store a new message: its request item, then its state item (which makes it exist); in one transaction
        with its dedup key (if any) and the `also` items when there are some.

        A dedup key still live (not expired) means a duplicate: nothing is stored, the first message's id returns.
        """
        items = self.new_message_items(new)
        dedup_id = new.request.dedup_id
        if dedup_id is None or dedup_until_s is None:
            if not also:
                for item in items:
                    self.client.put_item(**item["Put"])
                return Created(new.request.message_id)
        else:
            items.insert(0, self._dedup_put(dedup_id, new.request.message_id, dedup_until_s, now_s))
        try:
            self.client.transact_write_items(TransactItems=[*items, *also])
        except ClientError as exc:
            reasons = cancellation_reasons(exc)
            if dedup_id is not None and dedup_until_s is not None and reasons[:1] == ["ConditionalCheckFailed"]:
                existing = self._dedup_owner(dedup_id, now_s)
                if existing is not None:
                    return Created(existing, deduplicated=True)
                return self.create(new, dedup_until_s=dedup_until_s, now_s=now_s, also=also)  # key just expired
            raise
        return Created(new.request.message_id)

    def _dedup_put(self, dedup_id: str, message_id: str, until_s: int, now_s: int) -> TransactWriteItemTypeDef:
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_item({"pk": f"dedup#{dedup_id}", "sk": DEDUP, "messageId": message_id, TTL: until_s}),
                "ConditionExpression": "attribute_not_exists(pk) OR #ttl <= :now",
                "ExpressionAttributeNames": {"#ttl": TTL},
                "ExpressionAttributeValues": values({":now": now_s}),
            }
        }

    def _dedup_owner(self, dedup_id: str, now_s: int) -> str | None:
        item = self.client.get_item(
            TableName=self.table_name, Key=_key(f"dedup#{dedup_id}", DEDUP), ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        stored = from_item(item)
        return None if is_expired(stored, TTL, now_s) else str(stored["messageId"])

    def delete(self, message_id: str, dedup_id: str | None = None) -> None:
        """Take back a message whose publish failed: its items (the state item holds its log) and its dedup key
        (while it is still the message's, so that the client's retry is not taken for a duplicate of nothing)."""
        self.client.delete_item(TableName=self.table_name, Key=state_key(message_id))
        self.client.delete_item(TableName=self.table_name, Key=_key(message_id, REQUEST))
        if dedup_id is not None:
            self.conditional(
                self.client.delete_item,
                Key=_key(f"dedup#{dedup_id}", DEDUP),
                ConditionExpression="messageId = :id",
                ExpressionAttributeValues=values({":id": message_id}),
            )

    # --- delivery transitions -----------------------------------------------------------------------

    def claim(
        self,
        message_id: str,
        attempt: int,
        now_ms: int,
        lease_until_ms: int,
        stored: Stored | None = None,
    ) -> Message | ClaimRefused:
        """CREATED/RETRY (due) -> ACTIVE; logged as ACTIVE. (An ACTIVE claim whose lease ran out is not taken over:
        its attempt failed, see `DeliveryService.process`.)

        The message is read first, both items in one query (the ACTIVE event copies the state's url and label,
        and a record that cannot claim is told apart without a write; a transaction cannot return the item it
        wrote); the write itself stays conditional, so a race is still safe.
        """
        stored = stored or self.load(message_id)
        status = stored.status
        if status is None or not claimable(status, attempt, now_ms):
            return ClaimRefused(status)
        active = self._state_event(status, message_id, MessageState.ACTIVE, now_ms)  # claimable: same attempt
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": state_key(message_id),
            "UpdateExpression": "SET #state = :active, claimUntil = :lease, updatedAt = :now ADD attempts :one",
            "ConditionExpression": (
                "attribute_exists(pk) AND attempt = :attempt AND attribute_not_exists(cancelRequested)"
                " AND attribute_not_exists(queueWaiting) AND ("
                "#state IN (:created, :retry) AND nextDeliveryAt <= :due)"
            ),
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": values(
                {
                    ":active": MessageState.ACTIVE.value,
                    ":created": MessageState.CREATED.value,
                    ":retry": MessageState.RETRY.value,
                    ":attempt": attempt,
                    ":lease": lease_until_ms,
                    ":now": now_ms,
                    ":due": now_ms + _NOT_BEFORE_SLACK_MS,
                    ":one": 1,
                }
            ),
        }
        if not self._move(update, active):
            return ClaimRefused(self.get_status(message_id))  # another worker moved it meanwhile
        if stored.request_item is None:  # the request item expired under a live state item: nothing left to send
            return ClaimRefused(None)
        request = self.request_of(stored.request_item)
        claimed = status.model_copy(
            update={
                "state": MessageState.ACTIVE,
                "claim_until_ms": lease_until_ms,
                "updated_at_ms": now_ms,
                "attempts": status.attempts + 1,
            }
        )
        return Message(request=request, status=claimed)

    def mark_delivered(
        self,
        request: MessageRequest,
        attempt: int,
        result: AttemptResult,
        *,
        now_ms: int,
        expires_at_s: int,
        follow_ups: Sequence[NewMessage] = (),
    ) -> bool:
        fields = {"#state": MessageState.DELIVERED.value, "updatedAt": now_ms, **self._finished(expires_at_s, now_ms)}
        event = request_event(request, MessageState.DELIVERED, event_id=uuid7(now_ms), time_ms=now_ms, result=result)
        release = self._release(request.queue_name)
        return self._transition(
            request.message_id, attempt, fields, result, event, follow_ups, final=True, also=release
        )

    def mark_retry(
        self,
        request: MessageRequest,
        attempt: int,
        result: AttemptResult,
        *,
        now_ms: int,
        next_at_ms: int,
        follow_ups: Sequence[NewMessage] = (),
        lease_lost: bool = False,
    ) -> bool:
        """ACTIVE -> RETRY, unless a cancel was requested during the attempt (then False: see finish_cancel).
        `lease_lost`: only if the attempt's lease has run out (by `now_ms`), as its worker never recorded it."""
        fields = {
            "#state": MessageState.RETRY.value,
            "attempt": attempt + 1,
            "nextDeliveryAt": next_at_ms,
            "updatedAt": now_ms,
        }
        event = request_event(
            request,
            MessageState.RETRY,
            event_id=uuid7(now_ms),
            time_ms=now_ms,
            result=result,
            next_delivery_time_ms=next_at_ms,
            attempt=attempt,
        )
        return self._transition(
            request.message_id,
            attempt,
            fields,
            result,
            event,
            follow_ups,
            final=False,
            lease_lost_by=now_ms if lease_lost else None,
        )

    def mark_failed(
        self,
        *,
        request: MessageRequest,
        attempt: int,
        result: AttemptResult,
        now_ms: int,
        expires_at_s: int,
        dlq_id: str,
        dlq_put: TransactWriteItemTypeDef,
        follow_ups: Sequence[NewMessage] = (),
        lease_lost: bool = False,
    ) -> bool:
        """ACTIVE -> FAILED and the DLQ item, in one transaction: a failed message always has its DLQ entry.
        `lease_lost`: as for mark_retry."""
        fields = {
            "#state": MessageState.FAILED.value,
            "updatedAt": now_ms,
            "dlqId": dlq_id,
            **self._finished(expires_at_s, now_ms),
        }
        event = request_event(
            request, MessageState.FAILED, event_id=uuid7(now_ms), time_ms=now_ms, result=result, attempt=attempt
        )
        release = self._release(request.queue_name)
        return self._transition(
            request.message_id,
            attempt,
            fields,
            result,
            event,
            follow_ups,
            final=True,
            also=[dlq_put, *release],
            lease_lost_by=now_ms if lease_lost else None,
        )

    def _transition(
        self,
        message_id: str,
        attempt: int,
        fields: Mapping[str, Any],
        result: AttemptResult,
        event: MessageEvent,
        follow_ups: Sequence[NewMessage],
        *,
        final: bool,
        also: Sequence[TransactWriteItemTypeDef] = (),
        lease_lost_by: int | None = None,
    ) -> bool:
        """Conditional ACTIVE -> next state of the given attempt, with its event and the callback messages it
        creates (their ids are kept on the state, so a retried record can re-enqueue them), in one transaction.
        `lease_lost_by`: only if the attempt's lease ran out before that time. False: someone else moved the
        message."""
        removes = ["claimUntil", *(["pendingKey"] if final else [])]
        fields = {
            **fields,
            **_result_fields(result),
            "followUps": [f.request.message_id for f in follow_ups] or None,
            # a message that will retry is tracked by the pending index (no index write when it already was)
            **({} if final else {"pendingKey": shard_key(PENDING, message_id)}),
        }
        sets, vals = [], {":active": MessageState.ACTIVE.value, ":attempt": attempt}
        condition = "#state = :active AND attempt = :attempt"
        if not final:
            condition += " AND attribute_not_exists(cancelRequested)"
        if lease_lost_by is not None:
            condition += " AND claimUntil < :leaseLostBy"
            vals[":leaseLostBy"] = lease_lost_by
        for i, (name, value) in enumerate(fields.items()):
            if value is None:
                removes.append(name)
            else:
                vals[f":v{i}"] = value
                sets.append(f"{name} = :v{i}")
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": state_key(message_id),
            "UpdateExpression": f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": values(vals),
        }
        return self._move(update, event, [*also, *(item for new in follow_ups for item in self.new_message_items(new))])

    def _finished(self, visible_until_s: int, now_ms: int) -> dict[str, int]:
        """The attributes a final state sets: shown until `visible_until_s`, kept as long as its log is."""
        return {VISIBLE: visible_until_s, TTL: max(visible_until_s, now_ms // 1000 + self.log_retention_s)}

    def _move(self, update: dict[str, Any], event: MessageEvent, also: Sequence[Any] = ()) -> bool:
        """The conditional state write `update`, appending `event` to the message's log; with the `also` items in one
        transaction when there are some. False when the condition failed (someone else moved the message)."""
        assert update["UpdateExpression"].startswith("SET "), update["UpdateExpression"]
        update = {
            **update,
            "UpdateExpression": "SET #log = list_append(#log, :logEntry), " + update["UpdateExpression"][4:],
            "ExpressionAttributeNames": {**update.get("ExpressionAttributeNames", {}), "#log": LOG},
            "ExpressionAttributeValues": {
                **update.get("ExpressionAttributeValues", {}),
                **values({":logEntry": [log_entry(event)]}),
            },
        }
        created_ms = time_of_uuid7(event.message_id)
        if event.time_ms - created_ms > LATE_AFTER_MS:  # marked first: a marker may lack its entry, not the reverse
            marker = {"pk": shard_key(LATE, event.message_id), "sk": event.event_id, "messageId": event.message_id}
            expires_s = event.time_ms // 1000 + self.log_retention_s
            self.client.put_item(TableName=self.table_name, Item=to_item({**marker, TTL: expires_s}))
        if not also:
            return self.conditional(self.client.update_item, **update)
        try:
            self.client.transact_write_items(TransactItems=[{"Update": update}, *also])  # type: ignore[typeddict-item]
        except ClientError as exc:
            if cancellation_reasons(exc)[:1] == ["ConditionalCheckFailed"]:
                return False
            raise
        return True

    # --- cancelling -------------------------------------------------------------------------------

    def cancel(self, message_id: str, now_ms: int, expires_at_s: int) -> CancelOutcome:
        """Waiting -> CANCELED; in flight -> CANCEL_REQUESTED (the running attempt is the last one). Logged."""
        for _ in range(5):  # the state may move between the read and the conditional write: look again
            status = self.get_status(message_id)
            if status is None:
                return CancelOutcome.NOT_FOUND
            if status.state.is_final:
                return CancelOutcome.FINISHED
            if status.state == MessageState.ACTIVE:
                if status.cancel_requested:
                    return CancelOutcome.REQUESTED
                requested = self._state_event(status, message_id, MessageState.CANCEL_REQUESTED, now_ms)
                update = {
                    "TableName": self.table_name,
                    "Key": state_key(message_id),
                    "UpdateExpression": "SET cancelRequested = :yes, updatedAt = :now",
                    "ConditionExpression": "#state = :active AND attempt = :attempt",
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ExpressionAttributeValues": values(
                        {":yes": True, ":now": now_ms, ":active": MessageState.ACTIVE.value, ":attempt": status.attempt}
                    ),
                }
                if self._move(update, requested):
                    return CancelOutcome.REQUESTED
                continue
            if self._cancel_waiting(message_id, status, now_ms, expires_at_s, requested_only=False):
                return CancelOutcome.CANCELED
        raise RuntimeError(f"message {message_id} kept changing while being cancelled")

    def finish_cancel(self, message_id: str, attempt: int, now_ms: int, expires_at_s: int) -> bool:
        """A message whose cancel was requested mid-attempt -> CANCELED (its failed attempt is not retried)."""
        status = self.get_status(message_id)
        if status is None or not status.cancel_requested or status.attempt != attempt or status.state.is_final:
            return False
        return self._cancel_waiting(message_id, status, now_ms, expires_at_s, requested_only=True)

    def _cancel_waiting(
        self, message_id: str, status: MessageStatus, now_ms: int, expires_at_s: int, *, requested_only: bool
    ) -> bool:
        states = [MessageState.CREATED, MessageState.RETRY] + ([MessageState.ACTIVE] if requested_only else [])
        condition = "attempt = :attempt AND #state IN ({})".format(", ".join(f":s{i}" for i in range(len(states))))
        if requested_only:
            condition += " AND cancelRequested = :yes"
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": state_key(message_id),
            "UpdateExpression": (
                f"SET #state = :canceled, updatedAt = :now, {VISIBLE} = :visible, #ttl = :ttl"
                " REMOVE pendingKey, claimUntil, queueWaiting"
            ),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#state": "state", "#ttl": TTL},
            "ExpressionAttributeValues": values(
                {
                    ":canceled": MessageState.CANCELED.value,
                    ":attempt": status.attempt,
                    ":now": now_ms,
                    ":visible": expires_at_s,
                    ":ttl": self._finished(expires_at_s, now_ms)[TTL],
                    **({":yes": True} if requested_only else {}),
                    **{f":s{i}": state.value for i, state in enumerate(states)},
                }
            ),
        }
        canceled = self._state_event(status, message_id, MessageState.CANCELED, now_ms)
        release = self._release(status.queue_name, dispatched=not status.queue_waiting)
        return self._move(update, canceled, release)

    @staticmethod
    def _state_event(status: MessageStatus, message_id: str, state: MessageState, now_ms: int) -> MessageEvent:
        return MessageEvent(
            message_id=message_id,
            event_id=uuid7(now_ms),
            time_ms=now_ms,
            state=state,
            url=status.url,
            labels=status.labels,
            caller_ip=status.caller_ip,
            topic_name=status.topic_name,
            queue_name=status.queue_name,
            schedule_id=status.schedule_id,
            flow_control_key=status.flow_control.key if status.flow_control else None,
            method=status.method,
            max_retries=status.max_retries,
            retry_delay=status.retry_delay,
            attempt=status.attempt,
        )

    def pending_ids(self, where: RecordFilter, now_s: int) -> Iterator[str]:
        """Ids of the messages not finished yet that match `where` (dates: when they were created), oldest first; the
        sparse pending index's shards, merged."""
        if where.matches_nothing:
            return
        for item in self._pending(now_s):
            if _pending_match(item, where):
                yield str(item["sk"])

    def matching_ids(self, message_ids: Sequence[str], where: RecordFilter, now_s: int) -> list[str]:
        """Those of `message_ids` whose message matches `where` (a read of each state item)."""
        if where.is_empty:
            return list(dict.fromkeys(message_ids))
        states = self._states(list(dict.fromkeys(message_ids)))
        return [
            message_id
            for message_id, item in states.items()
            if not _hidden(item, now_s) and _pending_match(item, where)
        ]

    def count_pending(self, now_s: int, **equals: Any) -> int:
        """How many unfinished messages have these attribute values (`state=`, `flowControlKey=`, ...)."""
        return sum(1 for item in self._pending(now_s) if all(item.get(k) == v for k, v in equals.items()))

    def overdue(self, cutoff_ms: int, now_s: int) -> Iterator[tuple[str, int]]:
        """(id, attempt) of pending messages whose record should have arrived before `cutoff_ms` but did not:
        waiting past their delivery time, or claimed by a worker whose lease ran out long ago. (Those created after
        the watermark are not: when `cutoff_ms` is before it, as after the sweep's tracking, only tracked ones are
        read.)"""
        for item in self._pending(now_s, untracked=cutoff_ms > self._watermark_ms()):
            state, waiting = item["state"], item.get("queueWaiting") is not None  # waiting for a slot: not overdue
            late = state in _WAITING and int(item["nextDeliveryAt"]) < cutoff_ms
            stuck = state == MessageState.ACTIVE.value and int(item.get("claimUntil") or 0) < cutoff_ms
            if (late or stuck) and not waiting:
                yield str(item["sk"]), int(item["attempt"])

    def _pending(self, now_s: int, *, untracked: bool = True) -> Iterator[dict[str, Any]]:
        """The state items of every unfinished message, oldest first: those the pending index tracks (the keys from
        its shards, then the items, a batch read per 100), merged with those created since the watermark (the state
        items' own shards), which holds the untracked ones (unless `untracked` is False)."""
        query = {
            "TableName": self.table_name,
            "IndexName": PENDING_INDEX,
            "KeyConditionExpression": "pendingKey = :shard",
        }
        tracked = self._in_batches(
            merged(self.client, PENDING, query, sort_attribute="sk", descending=False, first_page=100), now_s
        )
        if not untracked:
            yield from tracked
            return
        since = uuid7_bound(max(0, self._watermark_ms() - _ID_SLACK_MS), upper=False)
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
        unfinished = (item for item in recent if item["state"] not in _FINAL and not _hidden(item, now_s))
        last = None
        for item in heapq.merge(tracked, unfinished, key=lambda item: str(item["sk"])):
            if item["sk"] != last:
                last = item["sk"]
                yield item

    def _in_batches(self, keys: Iterator[dict[str, Any]], now_s: int) -> Iterator[dict[str, Any]]:
        batch: list[str] = []
        for key in keys:
            batch.append(str(key["sk"]))
            if len(batch) == 100:
                yield from self._live_states(batch, now_s)
                batch = []
        if batch:
            yield from self._live_states(batch, now_s)

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
            since=uuid7_bound(max(0, since - _ID_SLACK_MS), upper=False),
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
            if item.get("pendingKey") is not None or item["state"] in _FINAL:
                continue
            message_id = str(item["sk"])
            tracked += self.conditional_update(
                Key=state_key(message_id),
                UpdateExpression="SET pendingKey = :shard",
                ConditionExpression=f"attribute_exists(pk) AND NOT #state IN ({', '.join(_FINAL_VALUES)})",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=values(
                    {":shard": shard_key(PENDING, message_id), **dict(zip(_FINAL_VALUES, _FINAL, strict=True))}
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

    def _live_states(self, message_ids: list[str], now_s: int) -> Iterator[dict[str, Any]]:
        states = self._states(message_ids)
        for message_id in message_ids:
            item = states.get(message_id)
            if item is not None and not _hidden(item, now_s) and item.get("pendingKey") is not None:
                yield item

    def _states(self, message_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The state items of these messages that exist, by id (strongly consistent batch reads)."""
        return {str(item["sk"]): item for item in self.batch_get([state_key(i) for i in message_ids])}

    # --- reads ----------------------------------------------------------------------------------

    def load(self, message_id: str) -> Stored:
        """The state and the request item of a message in one (strongly consistent) batch read."""
        items = {item["sk"]: item for item in self.batch_get([state_key(message_id), _key(message_id, REQUEST)])}
        return Stored(state_item=items.get(message_id), request_item=items.get(REQUEST))

    def get(self, message_id: str, now_s: int) -> Message | None:
        stored = self.load(message_id)
        request, state = stored.request_item, stored.state_item
        if request is None or state is None or _hidden(state, now_s) or is_expired(request, TTL, now_s):
            return None
        return Message(request=self.request_of(request), status=_status(state))

    # --- queues -----------------------------------------------------------------------------------

    def waiting(self, queue_name: str, limit: int, now_s: int) -> list[str]:
        """The oldest messages waiting for a slot of the queue (FIFO: UUIDv7 ids are in publish order)."""
        query = Conditions().not_expired(VISIBLE, now_s).query_arguments("queueWaiting = :queue", queue=queue_name)
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
        if self.queues is None:
            raise RuntimeError("a MessageRepository without queues cannot dispatch")
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

    def get_status(self, message_id: str) -> MessageStatus | None:
        item = self.client.get_item(TableName=self.table_name, Key=state_key(message_id), ConsistentRead=True).get(
            "Item"
        )
        return _status(from_item(item)) if item else None

    def get_state_item(self, message_id: str) -> dict[str, Any] | None:
        """The state item of a message (its log included), as stored."""
        item = self.client.get_item(TableName=self.table_name, Key=state_key(message_id), ConsistentRead=True)
        return from_item(item["Item"]) if "Item" in item else None

    def find_by_dedup_id(self, dedup_id: str, now_s: int) -> str | None:
        """The newest message published with this dedup / idempotency key that is still shown (an index query)."""
        query = Conditions().query_arguments("dedupId = :dedupId", dedupId=dedup_id)
        arguments = {"TableName": self.table_name, "IndexName": DEDUP_INDEX, "ScanIndexForward": False, **query}
        for key in query_all(self.client, arguments):
            state = self._states([str(key["sk"])]).get(str(key["sk"]))
            if state is not None and not _hidden(state, now_s):
                return str(key["sk"])
        return None

    def logged_bodies(self, message_ids: Iterable[str], now_s: int) -> dict[str, bytes]:
        """The bodies the log shows (held in the item, at most MAX_LOGGED_BODY_BYTES) of these messages: one
        BatchGetItem per 100 messages, reading only the body."""
        keys = [_key(message_id, REQUEST) for message_id in dict.fromkeys(message_ids)]
        found: dict[str, bytes] = {}
        for item in self.batch_get(keys, "pk, body, redact, #ttl", {"#ttl": TTL}):
            redact = redaction_from_attribute(item.get("redact"))
            body = shown_body(b"", redact) if redact and redact.body_sha256 else item.get("body")
            if body is not None and len(body) <= MAX_LOGGED_BODY_BYTES and not is_expired(item, TTL, now_s):
                found[str(item["pk"])] = bytes(body)
        return found

    def get_request(self, message_id: str) -> MessageRequest | None:
        answer = self.client.get_item(TableName=self.table_name, Key=_key(message_id, REQUEST), ConsistentRead=True)
        item = answer.get("Item")
        return self.request_of(from_item(item)) if item else None

    def request_of(self, item: Mapping[str, Any]) -> MessageRequest:
        """The request a request item (as `load` read it) holds, its claim-checked body fetched."""
        body = self.bodies.get(item["bodyRef"]) if item.get("bodyRef") else None
        return request_from_attributes(item["pk"], {**item, "dedupId": item.get(REQUEST_DEDUP)}, body)


def _pending_match(state_item: Mapping[str, Any], where: RecordFilter) -> bool:
    return where.matches(state_item) and where.in_range(int(state_item["createdAt"]))


def claimable(status: MessageStatus, attempt: int, now_ms: int) -> bool:
    """What the claim's condition checks, evaluated on a read first (the write re-checks it)."""
    if status.attempt != attempt or status.cancel_requested or status.queue_waiting:
        return False
    return status.state in _WAITING and status.next_delivery_at_ms <= now_ms + _NOT_BEFORE_SLACK_MS


def lease_lost(status: MessageStatus, attempt: int, now_ms: int) -> bool:
    """The attempt was claimed, and its lease ran out without an outcome (the worker died, or could not record
    it): it counts as a failed attempt."""
    return status.state == MessageState.ACTIVE and status.attempt == attempt and (status.claim_until_ms or 0) < now_ms


def _key(pk: str, sk: str) -> dict[str, Any]:
    return to_item({"pk": pk, "sk": sk})


def _result_fields(result: AttemptResult) -> dict[str, Any]:
    return {"lastStatus": result.status, "lastError": result.error, "lastLatencyMs": result.latency_ms}


def state_key(message_id: str) -> dict[str, Any]:
    """The key of a message's state item: under its write shard, sorted by id (creation time)."""
    return _key(shard_key(STATE, message_id), message_id)


def _hidden(state_item: Mapping[str, Any], now_s: int) -> bool:
    """The message is no longer shown (finished long enough ago, or past its retention); its item may live on for
    its log."""
    return is_expired(state_item, VISIBLE, now_s) or is_expired(state_item, TTL, now_s)


def _waits(request: MessageRequest, status: MessageStatus) -> bool:
    """A new message that may wait before its first attempt: tracked by the pending index from its publish."""
    if status.state.is_final:
        return False
    delayed = request.not_before_ms > status.updated_at_ms + _NOT_BEFORE_SLACK_MS
    return delayed or request.flow_control is not None or request.queue_name is not None


def _request_item(request: MessageRequest, expires_at_s: int) -> dict[str, Any]:
    attributes = request_attributes(request)
    # (stored under another name than the state item's `dedupId`, which the byDedupId index is keyed by)
    attributes[REQUEST_DEDUP] = attributes.pop("dedupId")
    return to_item({"pk": request.message_id, "sk": REQUEST, **attributes, TTL: expires_at_s})


def _state_item(
    request: MessageRequest, status: MessageStatus, visible_until_s: int, expires_at_s: int, created: dict[str, Any]
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
            "pendingKey": shard_key(PENDING, request.message_id) if _waits(request, status) else None,
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
            VISIBLE: visible_until_s,
            TTL: expires_at_s,
        }
    )


def _status(item: Mapping[str, Any]) -> MessageStatus:
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
