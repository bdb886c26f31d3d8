"""Delivering one message attempt: claim, call the destination, record the outcome, schedule what comes next.

Crash safety (at-least-once): every step is a conditional write keyed on the attempt number, and the queue
record is acknowledged only after the outcome is stored. A worker that dies after the HTTP call leaves the
message ACTIVE; its record reappears after the visibility timeout and takes the expired claim over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from functions.delivery.http import HttpSender
from functions.delivery.queue import DeliveryQueue, delay_until
from functions.delivery.retry import next_attempt_at_ms
from functions.delivery.signing import sign
from functions.dlq.repository import DlqRepository
from functions.messages.models import AttemptResult, DeliveryTask, DlqEntry, Message, MessageState
from functions.messages.repository import ClaimRefused, MessageRepository
from functions.shared.clock import Clock, now_ms
from functions.shared.ids import uuid7
from functions.shared.observability import logger

USER_AGENT = "Upstash-QStash"


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY_SCHEDULED = "retry_scheduled"
    FAILED = "failed"  # retries spent, in the DLQ
    DEFERRED = "deferred"  # not due yet: re-enqueued for the remaining time
    DROPPED = "dropped"  # stale record: the message moved on, is gone, or someone else finished the attempt


class ClaimBusyError(Exception):
    """Another worker holds a live claim on this attempt: retry the record later."""


@dataclass(frozen=True)
class DeliveryPolicy:
    attempt_timeout_s: float
    claim_lease_s: float
    retention_s: int
    dlq_retention_s: int


class DeliveryService:
    def __init__(
        self,
        messages: MessageRepository,
        dlq: DlqRepository,
        queue: DeliveryQueue,
        sender: HttpSender,
        policy: DeliveryPolicy,
        signing_key: Callable[[], str],
        clock: Clock = now_ms,
    ) -> None:
        self.messages = messages
        self.dlq = dlq
        self.queue = queue
        self.sender = sender
        self.policy = policy
        self.signing_key = signing_key
        self.clock = clock

    def process(self, task: DeliveryTask) -> Outcome:
        now = self.clock()
        claimed = self.messages.claim(task.message_id, task.attempt, now, now + int(self.policy.claim_lease_s * 1000))
        if isinstance(claimed, ClaimRefused):
            return self._refused(task, claimed, now)

        result = self._attempt(claimed, task.attempt)
        return self._record(claimed, task.attempt, result)

    def _refused(self, task: DeliveryTask, refused: ClaimRefused, now: int) -> Outcome:
        status = refused.status
        waiting = status is not None and status.state in (MessageState.CREATED, MessageState.RETRY)
        if status is not None and waiting and status.attempt == task.attempt + 1:
            # The record of the failed attempt came back: the worker that scheduled the retry may have died
            # before enqueueing it. Enqueue it (again); a duplicate record is dropped by the attempt check.
            self.queue.send(
                DeliveryTask(message_id=task.message_id, attempt=status.attempt),
                delay_until(status.next_delivery_at_ms, now),
            )
            return Outcome.DEFERRED
        if status is None or status.state.is_final or status.attempt != task.attempt:
            logger.info("stale delivery record dropped", message_id=task.message_id, attempt=task.attempt)
            return Outcome.DROPPED
        if waiting and status.next_delivery_at_ms > now:
            self.queue.send(task, delay_until(status.next_delivery_at_ms, now))
            return Outcome.DEFERRED
        if status.state == MessageState.ACTIVE:
            raise ClaimBusyError(f"message {task.message_id} attempt {task.attempt} is being delivered elsewhere")
        logger.info("record dropped", message_id=task.message_id, state=status.state.value)
        return Outcome.DROPPED

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
        return self.sender.send(
            method=request.method,
            url=request.url,
            headers=headers,
            body=request.body,
            timeout_s=self.policy.attempt_timeout_s,
        )

    def _record(self, message: Message, attempt: int, result: AttemptResult) -> Outcome:
        request, now = message.request, self.clock()
        message_id = request.message_id
        log = {"message_id": message_id, "attempt": attempt, "status": result.status, "error": result.error}
        if result.succeeded:
            expires = now // 1000 + self.policy.retention_s
            if self.messages.mark_delivered(message_id, attempt, result, now_ms=now, expires_at_s=expires):
                logger.info("delivered", extra=log)
                return Outcome.DELIVERED
            return self._lost_race(log)

        if attempt < request.max_retries:
            next_at = next_attempt_at_ms(now, attempt + 1)
            if not self.messages.mark_retry(message_id, attempt, result, now_ms=now, next_at_ms=next_at):
                return self._lost_race(log)
            # If this send is lost (crash), the unacknowledged record comes back and re-enqueues the retry.
            self.queue.send(DeliveryTask(message_id=message_id, attempt=attempt + 1), delay_until(next_at, now))
            logger.info("attempt failed, retry scheduled", next_delivery_at=next_at, extra=log)
            return Outcome.RETRY_SCHEDULED

        dlq_id = uuid7(now)
        entry = DlqEntry(dlq_id=dlq_id, request=request, response=result, created_at_ms=now)
        dlq_put = self.dlq.put_in_transaction(entry, now // 1000 + self.policy.dlq_retention_s)
        if self.messages.mark_failed(
            message_id=message_id,
            attempt=attempt,
            result=result,
            now_ms=now,
            expires_at_s=now // 1000 + self.policy.dlq_retention_s,
            dlq_id=dlq_id,
            dlq_put=dlq_put,
        ):
            logger.warning("retries spent, moved to the DLQ", dlq_id=dlq_id, extra=log)
            return Outcome.FAILED
        return self._lost_race(log)

    @staticmethod
    def _lost_race(log: dict[str, object]) -> Outcome:
        logger.warning("another worker finished this attempt first", extra=log)
        return Outcome.DROPPED
