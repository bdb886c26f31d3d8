"""Publishing and looking up messages and DLQ entries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from functions.delivery.queue import DeliveryQueue, delay_until
from functions.dlq.repository import DlqRepository
from functions.messages.models import DeliveryTask, DlqEntry, Message, MessageRequest, MessageState, MessageStatus
from functions.messages.publish import PublishLimits, build_message, destination_from_path
from functions.messages.repository import MessageRepository
from functions.shared.clock import Clock, now_ms
from functions.shared.errors import NotFoundError, ServiceUnavailableError
from functions.shared.ids import uuid7
from functions.shared.observability import logger

# A message can live at most this long past its not-before time (each retry waits at most a day) plus retention.
_DAY_S = 86400


@dataclass(frozen=True)
class PublishInput:
    path_tail: str
    raw_query: str
    headers: Mapping[str, str]
    body: bytes
    caller_ip: str | None


class MessageService:
    def __init__(
        self,
        messages: MessageRepository,
        dlq: DlqRepository,
        queue: DeliveryQueue,
        limits: PublishLimits,
        retention_s: int,
        clock: Clock = now_ms,
    ) -> None:
        self.messages = messages
        self.dlq = dlq
        self.queue = queue
        self.limits = limits
        self.retention_s = retention_s
        self.clock = clock

    def publish(self, publish: PublishInput) -> MessageRequest:
        now = self.clock()
        request = build_message(
            message_id=uuid7(now),
            destination=destination_from_path(publish.path_tail, publish.raw_query),
            headers=publish.headers,
            body=publish.body,
            caller_ip=publish.caller_ip,
            now_ms=now,
            limits=self.limits,
        )
        status = MessageStatus(state=MessageState.CREATED, next_delivery_at_ms=request.not_before_ms, updated_at_ms=now)
        self.messages.create(request, status, self._lifetime_end_s(request))
        try:
            self.queue.send(
                DeliveryTask(message_id=request.message_id, attempt=0), delay_until(request.not_before_ms, now)
            )
        except Exception as exc:
            # Not enqueued means never delivered: take the message back and let the client retry the publish.
            logger.exception("delivery queue unreachable, publish undone", message_id=request.message_id)
            self.messages.delete(request.message_id)
            raise ServiceUnavailableError("could not enqueue the message, try again") from exc
        logger.info("message published", message_id=request.message_id, url=request.url)
        return request

    def get(self, message_id: str) -> Message:
        message = self.messages.get(message_id, self.clock() // 1000)
        if message is None:
            raise NotFoundError(f"message {message_id} not found")
        return message

    def get_dlq(self, dlq_id: str) -> DlqEntry:
        entry = self.dlq.get(dlq_id, self.clock() // 1000)
        if entry is None:
            raise NotFoundError(f"dlq message {dlq_id} not found")
        return entry

    def _lifetime_end_s(self, request: MessageRequest) -> int:
        return request.not_before_ms // 1000 + (request.max_retries + 1) * _DAY_S + self.retention_s
