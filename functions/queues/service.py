"""Managing FIFO queues: upsert, list, get (with lag), delete, pause, resume."""

from __future__ import annotations

from dataclasses import dataclass

from functions.core.models import Queue
from functions.queues.dispatcher import Dispatcher
from functions.shared.clock import Clock, now_ms
from functions.shared.errors import BadRequestError, NotFoundError
from functions.stores.protocols import MessageStoresPort, QueueStorePort
from functions.topics.models import validate_name


@dataclass(frozen=True)
class QueueInfo:
    queue: Queue
    lag: int  # messages not delivered yet: waiting for a slot, or in flight


class QueueService:
    def __init__(
        self,
        queues: QueueStorePort,
        messages: MessageStoresPort,
        dispatcher: Dispatcher,
        max_parallelism: int,
        retention_s: int,
        clock: Clock = now_ms,
    ) -> None:
        self.queues = queues
        self.messages = messages
        self.dispatcher = dispatcher
        self.max_parallelism = max_parallelism
        self.retention_s = retention_s
        self.clock = clock

    def upsert(self, name: str, parallelism: int | None, paused: bool | None) -> Queue:
        validate_name(name, "queue")
        if parallelism is not None and not 1 <= parallelism <= self.max_parallelism:
            raise BadRequestError(f"invalid parallelism {parallelism}: must be between 1 and {self.max_parallelism}")
        queue = self.queues.upsert(name, self.clock(), parallelism=parallelism, paused=paused)
        self.dispatcher.dispatch(name)  # more slots, or resumed: waiting messages may go now
        return queue

    def ensure(self, name: str) -> Queue:
        """The queue, created with parallelism 1 when it does not exist (enqueue auto-creates)."""
        validate_name(name, "queue")
        return self.queues.get(name) or self.queues.upsert(name, self.clock(), parallelism=None, paused=None)

    def get(self, name: str) -> QueueInfo:
        queue = self.queues.get(name)
        if queue is None:
            raise NotFoundError(f"queue {name} not found")
        return QueueInfo(queue, self.messages.slots.count_waiting(name) + queue.in_flight)

    def list(self) -> list[QueueInfo]:
        return [QueueInfo(q, self.messages.slots.count_waiting(q.name) + q.in_flight) for q in self.queues.list()]

    def delete(self, name: str) -> None:
        """Delete the queue; its waiting messages are cancelled (those in flight finish)."""
        now = self.clock()
        self.queues.delete(name)
        while waiting := self.messages.slots.waiting(name, 100, now):
            for message_id in waiting:
                self.messages.moves.cancel(message_id, now, now + self.retention_s * 1000)

    def set_paused(self, name: str, paused: bool) -> None:
        if not self.queues.set_paused(name, paused, self.clock()):
            raise NotFoundError(f"queue {name} not found")
        if not paused:
            self.dispatcher.dispatch(name)
