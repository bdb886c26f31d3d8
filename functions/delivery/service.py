"""Delivering one message attempt: claim, call the destination, record the outcome, schedule what comes next.

Crash safety (at-least-once): every step is a conditional write keyed on the attempt number, and the queue
record is acknowledged only after the outcome is stored. A worker that dies after the HTTP call (or cannot record
its outcome) leaves the message ACTIVE; its record reappears after the visibility timeout, finds the claim's lease
run out, and records the attempt as failed: retried, or in the DLQ once the retries are spent. So a message whose
attempts can never be recorded still ends. What a transition enqueues (the next attempt, callback messages) is
enqueued again when its record comes back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from functions.core import lifecycle
from functions.core.lifecycle import Facts, MessageState, RecordFate
from functions.core.models import (
    AttemptResult,
    CallbackOptions,
    DeliveryTask,
    DlqEntry,
    Message,
    MessageRequest,
    MessageStatus,
    lifetime_end_ms,
)
from functions.delivery.callbacks import callback_payload, callback_request
from functions.delivery.expressions import ExpressionError, compile_retry_delay
from functions.delivery.retry import is_non_retryable, next_retry_delay_ms
from functions.delivery.signing import sign
from functions.flow.limiter import FlowLimiter, Wait
from functions.queues.dispatcher import Dispatcher
from functions.shared.clock import Clock, now_ms
from functions.shared.ids import uuid7
from functions.shared.observability import logger
from functions.stores.delivery_queue import DeliveryQueue
from functions.stores.messages import NewMessage
from functions.stores.moves import ClaimRefused
from functions.stores.protocols import DlqPort, MessageStoresPort

USER_AGENT = "Upstash-QStash"
LEASE_LOST = "the attempt's lease ran out before its outcome was recorded (its worker stopped, or could not record it)"


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY_SCHEDULED = "retry_scheduled"
    FAILED = "failed"  # retries spent (or a non-retryable answer): in the DLQ
    CANCELED = "canceled"
    DEFERRED = "deferred"  # not due yet, or a lost enqueue made good: re-enqueued
    DROPPED = "dropped"  # stale record: the message moved on, is gone, or someone else finished the attempt


class ClaimBusyError(Exception):
    """Another worker holds a live claim on this attempt: retry the record later."""


@dataclass(frozen=True)
class DeliveryPolicy:
    attempt_timeout_s: float  # the longest an attempt may take (Upstash-Timeout is capped to it)
    default_timeout_s: float  # an attempt's timeout when the message sets none
    claim_margin_s: float
    retention_s: int
    dlq_retention_s: int


class Sender(Protocol):
    """What makes an attempt's HTTP call (`functions.delivery.http.HttpSender`, which the worker injects: the API
    never loads it)."""

    def send(
        self, *, method: str, url: str, headers: Mapping[str, str], body: bytes, timeout_s: float
    ) -> AttemptResult: ...


class DeliveryService:
    def __init__(
        self,
        messages: MessageStoresPort,
        dlq: DlqPort,
        queue: DeliveryQueue,
        sender: Sender,
        policy: DeliveryPolicy,
        signing_key: Callable[[], str],
        clock: Clock = now_ms,
        dispatcher: Dispatcher | None = None,
        flows: FlowLimiter | None = None,
    ) -> None:
        self.messages = messages
        self.dlq = dlq
        self.queue = queue
        self.sender = sender
        self.policy = policy
        self.signing_key = signing_key
        self.clock = clock
        self.dispatcher = dispatcher
        self.flows = flows

    def process(self, task: DeliveryTask) -> Outcome:
        now = self.clock()
        # The lease covers the longest attempt a message may ask for.
        lease_until = now + int((self.policy.attempt_timeout_s + self.policy.claim_margin_s) * 1000)
        stored = self.messages.store.load(task.message_id)
        status = stored.status
        facts = Facts(task.attempt, now)
        if status is not None and lifecycle.LOST_ATTEMPT.allows(status, facts):
            return self._lease_lost(task, status, stored.request_item)
        slot = None
        if status is not None and status.flow_control is not None and self.flows is not None:
            if not lifecycle.CLAIM.allows(status, facts):
                return self._refused(task, status, now)
            token = f"{task.message_id}#{task.attempt}"
            acquired = self.flows.acquire(status.flow_control, token, now, lease_until)
            if isinstance(acquired, Wait):  # over its key's limits: the message waits, it is not failed
                self.queue.send(task, now + acquired.seconds * 1000, now)
                return Outcome.DEFERRED
            slot = acquired
        try:
            claimed = self.messages.moves.claim(task.message_id, task.attempt, now, lease_until, stored=stored)
            if isinstance(claimed, ClaimRefused):
                return self._refused(task, claimed.status, now)
            result = self._attempt(claimed, task.attempt)
            return self._record(claimed, task.attempt, result)
        finally:
            if slot is not None:
                # read after the attempt: its rate slot is free a period from this time
                self.flows.release(slot, self.clock())  # type: ignore[union-attr]

    def sweep(self, grace_s: float) -> int:
        """Re-enqueue pending messages whose record was lost (a crash between a write and its enqueue): the
        backstop of at-least-once. Duplicated records are harmless: the attempt check drops them."""
        now = self.clock()
        tracked = self.messages.pending.track_waiting(now)  # those still unfinished a minute after their creation
        if tracked:
            logger.info("unfinished messages tracked by the pending index", count=tracked)
        requeued = 0
        for message_id, attempt in self.messages.pending.overdue(now - int(grace_s * 1000), now):
            self.queue.send(DeliveryTask(message_id=message_id, attempt=attempt), now, now)
            requeued += 1
        if requeued:
            logger.warning("overdue messages re-enqueued", count=requeued)
        if self.dispatcher is not None:  # and fill every queue's free slots, should a dispatch have been missed
            self.dispatcher.dispatch_all()
        return requeued

    def _lease_lost(self, task: DeliveryTask, status: MessageStatus, request_item: Mapping[str, Any] | None) -> Outcome:
        """The attempt's worker never recorded an outcome: the attempt failed."""
        if request_item is None:  # the request expired under a live state item: nothing left to send
            return Outcome.DROPPED
        logger.warning("attempt lease ran out without an outcome", message_id=task.message_id, attempt=task.attempt)
        message = Message(request=self.messages.store.request_of(request_item), status=status)
        return self._record(message, task.attempt, AttemptResult(error=LEASE_LOST), lease_lost=True)

    # --- records that cannot claim ----------------------------------------------------------------

    def _refused(self, task: DeliveryTask, status: MessageStatus | None, now: int) -> Outcome:
        """A record that cannot claim its message: what the lifecycle's decision table says becomes of it."""
        fate = lifecycle.record_fate(status, task.attempt, now)
        if status is None or fate in (RecordFate.DROP_UNKNOWN, RecordFate.DROP_STALE, RecordFate.DROP):
            logger.info("delivery record dropped", message_id=task.message_id, attempt=task.attempt, fate=fate.value)
            return Outcome.DROPPED
        if fate == RecordFate.FINISH_CANCEL:
            self.messages.moves.finish_cancel(task.message_id, status.attempt, now, self._kept_until(now))
            return Outcome.CANCELED
        if fate == RecordFate.BUSY:
            raise ClaimBusyError(f"message {task.message_id} attempt {task.attempt} is being delivered elsewhere")
        if fate == RecordFate.NOT_DUE:
            self.queue.send(task, status.next_delivery_at_ms, now)
            return Outcome.DEFERRED
        # The record of an attempt whose outcome is recorded came back: the worker that recorded it may have died
        # before enqueueing what it creates (the next attempt, callbacks). Enqueue them again: duplicates fail the
        # attempt check.
        self._enqueue_follow_ups(status, now)
        if fate == RecordFate.RESEND_FOLLOW_UPS:
            return Outcome.DROPPED
        self.queue.send(
            DeliveryTask(message_id=task.message_id, attempt=status.attempt), status.next_delivery_at_ms, now
        )
        return Outcome.DEFERRED

    def _kept_until(self, now: int) -> int:
        """Until when a message that finishes now is shown."""
        return now + self.policy.retention_s * 1000

    def _enqueue_follow_ups(self, status: MessageStatus, now: int) -> None:
        for message_id in status.follow_ups:
            self.queue.send(DeliveryTask(message_id=message_id, attempt=0), now, now)

    # --- the attempt ----------------------------------------------------------------------------

    def _attempt(self, message: Message, attempt: int) -> AttemptResult:
        request = message.request
        headers = {name: ", ".join(vals) for name, vals in request.header.items()}
        if request.content_type:
            headers["Content-Type"] = request.content_type
        headers.update(
            {
                "User-Agent": USER_AGENT,
                "Upstash-Message-Id": request.message_id,
                "Upstash-Retried": str(attempt),
                "Upstash-Signature": sign(
                    key=self.signing_key(), url=request.url, body=request.body, now_s=self.clock() // 1000
                ),
            }
        )
        if request.caller_ip:
            headers["Upstash-Caller-Ip"] = request.caller_ip
        if request.topic_name:
            headers["Upstash-Topic-Name"] = request.topic_name
        if request.schedule_id:
            headers["Upstash-Schedule-Id"] = request.schedule_id
        try:
            result = self.sender.send(
                method=request.method,
                url=request.url,
                headers=headers,
                body=request.body,
                timeout_s=min(request.timeout_s or self.policy.default_timeout_s, self.policy.attempt_timeout_s),
            )
        except Exception as exc:  # whatever goes wrong in an attempt, it is a failed attempt, recorded
            logger.exception("attempt failed before an answer", message_id=request.message_id, attempt=attempt)
            return AttemptResult(error=f"request error: {type(exc).__name__}: {exc}").capped()
        return result.capped()

    # --- the outcome ----------------------------------------------------------------------------

    def _record(self, message: Message, attempt: int, result: AttemptResult, lease_lost: bool = False) -> Outcome:
        request, now = message.request, self.clock()
        log = {
            "message_id": request.message_id,
            "url": request.url,
            "attempt": attempt,
            "status": result.status,
            "error": result.error,
            "latency_ms": result.latency_ms,
        }
        callbacks = self._callbacks(request, result, attempt, now, request.callback)
        if result.succeeded:
            done = self.messages.moves.outcome(
                lifecycle.DELIVER,
                request,
                attempt,
                result,
                now_ms=now,
                visible_until_ms=self._kept_until(now),
                follow_ups=callbacks,
            )
            return self._after(done, Outcome.DELIVERED, callbacks, now, log, request.queue_name)

        final = attempt >= request.max_retries or is_non_retryable(result.status, result.header)
        if not final:
            next_at = now + self._retry_delay_ms(request, attempt + 1, result, now)
            done = self.messages.moves.outcome(
                lifecycle.RETRY,
                request,
                attempt,
                result,
                now_ms=now,
                next_at_ms=next_at,
                follow_ups=callbacks,
                lease_lost=lease_lost,
            )
            if done:
                self.queue.send(DeliveryTask(message_id=request.message_id, attempt=attempt + 1), next_at, now)
            elif self.messages.moves.finish_cancel(request.message_id, attempt, now, self._kept_until(now)):
                return self._after(True, Outcome.CANCELED, [], now, log, request.queue_name)  # no retry
            return self._after(done, Outcome.RETRY_SCHEDULED, callbacks, now, {**log, "next_delivery_at": next_at})

        dlq_id = uuid7(now)
        dlq_expires = now + self.policy.dlq_retention_s * 1000
        entry = DlqEntry(dlq_id=dlq_id, request=request, response=result, created_at_ms=now)
        failure = self._callbacks(request, result, attempt, now, request.failure_callback, dlq_id)
        done = self.messages.moves.outcome(
            lifecycle.FAIL,
            request,
            attempt,
            result,
            now_ms=now,
            visible_until_ms=dlq_expires,
            dlq_id=dlq_id,
            dlq_put=self.dlq.put_in_transaction(entry, dlq_expires),
            follow_ups=[*callbacks, *failure],
            lease_lost=lease_lost,
        )
        return self._after(
            done, Outcome.FAILED, [*callbacks, *failure], now, {**log, "dlq_id": dlq_id}, request.queue_name
        )

    def _after(
        self,
        done: bool,
        outcome: Outcome,
        follow_ups: list[NewMessage],
        now: int,
        log: dict[str, object],
        queue_name: str | None = None,
    ) -> Outcome:
        if not done:
            logger.warning("another worker finished this attempt first", extra=log)
            return Outcome.DROPPED
        for new in follow_ups:  # if this is lost (crash), the unacknowledged record enqueues them again
            self.queue.send(DeliveryTask(message_id=new.request.message_id, attempt=0), now, now)
        if queue_name and outcome != Outcome.RETRY_SCHEDULED and self.dispatcher is not None:
            self.dispatcher.dispatch(queue_name)  # a slot of the queue is free: the next message may go
        logger.info(outcome.value, extra=log)
        return outcome

    def _callbacks(
        self,
        request: MessageRequest,
        result: AttemptResult,
        attempt: int,
        now: int,
        options: CallbackOptions | None,
        dlq_id: str | None = None,
    ) -> list[NewMessage]:
        if options is None or request.is_callback:  # callbacks of callbacks are not a thing
            return []
        payload = callback_payload(request, result, retried=attempt, dlq_id=dlq_id)
        callback = callback_request(request, options, payload, message_id=uuid7(now), now_ms=now)
        status = MessageStatus(state=MessageState.CREATED, next_delivery_at_ms=now, updated_at_ms=now)
        return [NewMessage(callback, status, lifetime_end_ms(callback, self.policy.retention_s))]

    @staticmethod
    def _retry_delay_ms(request: MessageRequest, retry_number: int, result: AttemptResult, now: int) -> int:
        try:
            expression = compile_retry_delay(request.retry_delay) if request.retry_delay else None
        except ExpressionError:  # validated at publish; a stored expression that no longer parses falls back
            expression = None
        return next_retry_delay_ms(
            retry_number=retry_number, expression=expression, response_headers=result.header, now_ms=now
        )
