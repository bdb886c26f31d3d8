"""Moving messages between states (the transitions and their guards: functions/core/lifecycle.py).

Every state change is one conditional update of the state item whose condition is the transition's guard, and which
also appends the change's log entry: two workers can never both move the same message, and the log always has the
state. A transaction is used only where items must change together: a DLQ entry with the FAILED state, a queue's
slot, the callback messages an outcome creates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from functions.core import lifecycle
from functions.core.events import MessageEvent, request_event
from functions.core.lifecycle import Facts, MessageState, Transition
from functions.core.log import LOG, log_entry
from functions.core.models import AttemptResult, Message, MessageRequest, MessageStatus
from functions.shared.dynamo import DynamoRepository, cancellation_reasons, epoch_s, to_item, values
from functions.shared.ids import time_of_uuid7, uuid7
from functions.shared.shards import shard_key
from functions.stores.message_items import LATE, LATE_AFTER_MS, PENDING, TTL, VISIBLE, result_fields, state_key
from functions.stores.messages import MessageStore, NewMessage, StoredMessage
from functions.stores.queues import QueueRepository

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


@dataclass(frozen=True)
class ClaimRefused:
    """Why a claim did not succeed: the message's current status, or None when it does not exist."""

    status: MessageStatus | None


class CancelOutcome(StrEnum):
    CANCELED = "canceled"  # was waiting: it will never be delivered
    REQUESTED = "requested"  # an attempt is in flight: no further attempt will be made
    FINISHED = "finished"  # already delivered, failed or cancelled
    NOT_FOUND = "not_found"


class MessageMoves(DynamoRepository):
    def __init__(self, store: MessageStore, queues: QueueRepository | None = None) -> None:
        super().__init__(store.table_name, store.injected_client)
        self.store = store
        self.queues = queues

    # --- delivery ---------------------------------------------------------------------------------

    def claim(
        self, message_id: str, attempt: int, now_ms: int, lease_until_ms: int, stored: StoredMessage | None = None
    ) -> Message | ClaimRefused:
        """CREATED/RETRY (due) -> ACTIVE. The message is read first, both items in one query (the ACTIVE entry
        copies the state's url and label, and a record that cannot claim is told apart without a write); the write
        itself stays conditional, so a race is still safe."""
        stored = stored or self.store.load(message_id)
        status, facts = stored.status, Facts(attempt, now_ms)
        if status is None or not lifecycle.CLAIM.allows(status, facts):
            return ClaimRefused(status)
        sets = {"#state": MessageState.ACTIVE.value, "claimUntil": lease_until_ms, "updatedAt": now_ms}
        event = _state_event(status, message_id, lifecycle.CLAIM.logged, now_ms)
        if not self._write(lifecycle.CLAIM, message_id, facts, sets, event, add_attempts=True):
            return ClaimRefused(self.store.get_status(message_id))  # another worker moved it meanwhile
        if stored.request_item is None:  # the request item expired under a live state item: nothing left to send
            return ClaimRefused(None)
        update = {"claim_until_ms": lease_until_ms, "updated_at_ms": now_ms, "attempts": status.attempts + 1}
        claimed = status.model_copy(update={"state": MessageState.ACTIVE, **update})
        return Message(request=self.store.request_of(stored.request_item), status=claimed)

    def outcome(  # noqa: PLR0913 - an outcome's parts
        self,
        transition: Transition,
        request: MessageRequest,
        attempt: int,
        result: AttemptResult,
        *,
        now_ms: int,
        visible_until_ms: int | None = None,
        next_at_ms: int | None = None,
        dlq_id: str | None = None,
        dlq_put: TransactWriteItemTypeDef | None = None,
        follow_ups: Sequence[NewMessage] = (),
        lease_lost: bool = False,
    ) -> bool:
        """ACTIVE -> DELIVERED, RETRY or FAILED for the given attempt, with its log entry, the callback messages it
        creates (their ids are kept on the state, so a returning record can enqueue them again) and, when final,
        the queue slot it gives back, and the DLQ item of a failure. RETRY is refused when a cancel was requested
        during the attempt (see finish_cancel). `lease_lost`: only if the attempt's lease ran out by `now_ms`, as
        its worker never recorded it. False: someone else moved the message."""
        if lease_lost:
            transition = transition.after_lease_ran_out()
        sets: dict[str, Any] = {
            "#state": transition.target.value,
            "updatedAt": now_ms,
            **result_fields(result),
            "followUps": [new.request.message_id for new in follow_ups] or None,
        }
        also: list[Any] = [item for new in follow_ups for item in self.store.new_message_items(new)]
        if transition.is_final:
            sets.update({**self._finished(visible_until_ms or now_ms, now_ms), **({"dlqId": dlq_id} if dlq_id else {})})
            also += [*([dlq_put] if dlq_put else []), *self._release(request.queue_name)]
        else:  # a message that will retry is tracked by the pending index (no index write when it already was)
            pending = shard_key(PENDING, request.message_id)
            sets.update({"attempt": attempt + 1, "nextDeliveryAt": next_at_ms, "pendingKey": pending})
        event = request_event(
            request,
            transition.logged,
            event_id=uuid7(now_ms),
            time_ms=now_ms,
            result=result,
            next_delivery_time_ms=next_at_ms,
            attempt=None if transition.target == MessageState.DELIVERED else attempt,
        )
        removes = ["claimUntil", *(["pendingKey"] if transition.is_final else [])]
        return self._write(transition, request.message_id, Facts(attempt, now_ms), sets, event, removes, also)

    # --- cancelling -------------------------------------------------------------------------------

    def cancel(self, message_id: str, now_ms: int, visible_until_ms: int) -> CancelOutcome:
        """Waiting -> CANCELED; in flight -> CANCEL_REQUESTED (the running attempt is the last one). Logged."""
        for _ in range(5):  # the state may move between the read and the conditional write: look again
            status = self.store.get_status(message_id)
            if status is None:
                return CancelOutcome.NOT_FOUND
            if status.state.is_final:
                return CancelOutcome.FINISHED
            facts = Facts(status.attempt, now_ms)
            if status.state == MessageState.ACTIVE:
                if status.cancel_requested:
                    return CancelOutcome.REQUESTED
                requested = _state_event(status, message_id, lifecycle.REQUEST_CANCEL.logged, now_ms)
                sets = {"cancelRequested": True, "updatedAt": now_ms}
                if self._write(lifecycle.REQUEST_CANCEL, message_id, facts, sets, requested):
                    return CancelOutcome.REQUESTED
            elif self._cancel(lifecycle.CANCEL, message_id, status, now_ms, visible_until_ms):
                return CancelOutcome.CANCELED
        raise RuntimeError(f"message {message_id} kept changing while being cancelled")

    def finish_cancel(self, message_id: str, attempt: int, now_ms: int, visible_until_ms: int) -> bool:
        """A message whose cancel was requested mid-attempt -> CANCELED (its failed attempt is not retried)."""
        status = self.store.get_status(message_id)
        if not lifecycle.FINISH_CANCEL.allows(status, Facts(attempt, now_ms)) or status is None:
            return False
        return self._cancel(lifecycle.FINISH_CANCEL, message_id, status, now_ms, visible_until_ms)

    def _cancel(
        self, transition: Transition, message_id: str, status: MessageStatus, now_ms: int, visible_until_ms: int
    ) -> bool:
        sets = {"#state": MessageState.CANCELED.value, "updatedAt": now_ms, **self._finished(visible_until_ms, now_ms)}
        canceled = _state_event(status, message_id, transition.logged, now_ms)
        release = self._release(status.queue_name, dispatched=not status.queue_waiting)
        removes = ["pendingKey", "claimUntil", "queueWaiting"]
        return self._write(transition, message_id, Facts(status.attempt, now_ms), sets, canceled, removes, release)

    # --- the write ------------------------------------------------------------------------------

    def _write(  # noqa: PLR0913 - a conditional write's parts
        self,
        transition: Transition,
        message_id: str,
        facts: Facts,
        sets: Mapping[str, Any],
        event: MessageEvent,
        removes: Sequence[str] = (),
        also: Sequence[Any] = (),
        *,
        add_attempts: bool = False,
    ) -> bool:
        """`transition` of the message: the conditional update of its state item (the condition is the
        transition's guard) that sets `sets` (None: removes it) and appends `event` to its log, with the `also`
        items in one transaction when there are some. False when the guard failed (someone else moved it)."""
        condition, vals = transition.condition(facts)
        assignments, removed = ["#log = list_append(#log, :logEntry)"], list(removes)
        vals[":logEntry"] = [log_entry(event)]
        for i, (name, value) in enumerate(sets.items()):
            if value is None:
                removed.append(name)
            else:
                vals[f":v{i}"] = value
                assignments.append(f"{name} = :v{i}")
        expression = f"SET {', '.join(assignments)}"
        if add_attempts:
            expression += " ADD attempts :one"
            vals[":one"] = 1
        if removed:
            expression += f" REMOVE {', '.join(dict.fromkeys(removed))}"
        update = {
            "TableName": self.table_name,
            "Key": state_key(message_id),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#state": "state", "#log": LOG},
            "ExpressionAttributeValues": values(vals),
        }
        self._mark_if_late(event)
        if not also:
            return self.conditional(self.client.update_item, **update)
        try:
            self.client.transact_write_items(TransactItems=[{"Update": update}, *also])  # type: ignore[typeddict-item]
        except ClientError as exc:
            if cancellation_reasons(exc)[:1] == ["ConditionalCheckFailed"]:
                return False
            raise
        return True

    def _mark_if_late(self, event: MessageEvent) -> None:
        """An entry made LATE_AFTER_MS after its message's creation is marked first: a marker may lack its entry,
        never the reverse."""
        if event.time_ms - time_of_uuid7(event.message_id) > LATE_AFTER_MS:
            marker = {"pk": shard_key(LATE, event.message_id), "sk": event.event_id, "messageId": event.message_id}
            expires = epoch_s(event.time_ms + self.store.log_retention_s * 1000)
            self.client.put_item(TableName=self.table_name, Item=to_item({**marker, TTL: expires}))

    def _finished(self, visible_until_ms: int, now_ms: int) -> dict[str, int]:
        """The attributes a final state sets: shown until `visible_until_ms`, kept as long as its log is."""
        log_until = now_ms + self.store.log_retention_s * 1000
        return {VISIBLE: epoch_s(visible_until_ms), TTL: epoch_s(max(visible_until_ms, log_until))}

    def _release(self, queue_name: str | None, dispatched: bool = True) -> list[TransactWriteItemTypeDef]:
        """The slot a finishing queue message gives back (none for one still waiting for a slot)."""
        if queue_name and dispatched and self.queues is not None:
            return [self.queues.release_slot(queue_name)]
        return []


def _state_event(status: MessageStatus, message_id: str, state: MessageState, now_ms: int) -> MessageEvent:
    """A log entry written from the state item alone (its copies of the request's small attributes)."""
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
