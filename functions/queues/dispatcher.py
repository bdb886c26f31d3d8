"""Moving queued messages to delivery: oldest first, while the queue has free slots."""

from __future__ import annotations

from typing import Protocol

from functions.core.models import DeliveryTask
from functions.shared.clock import Clock, now_ms
from functions.shared.observability import logger
from functions.stores.delivery_queue import DeliveryQueue
from functions.stores.protocols import QueueSlotsPort, QueueStorePort
from functions.stores.slots import DispatchOutcome


class DispatcherPort(Protocol):
    """What publishing needs of the dispatcher: move a queue's oldest messages into its free slots."""

    def dispatch(self, queue_name: str) -> int: ...


class Dispatcher:
    def __init__(
        self, slots: QueueSlotsPort, queues: QueueStorePort, delivery: DeliveryQueue, clock: Clock = now_ms
    ) -> None:
        self.slots = slots
        self.queues = queues
        self.delivery = delivery
        self.clock = clock

    def dispatch_all(self) -> int:
        return sum(self.dispatch(queue.name) for queue in self.queues.list())

    def dispatch(self, queue_name: str) -> int:
        """Fill the queue's free slots with its oldest waiting messages; returns how many were dispatched.

        Each dispatch is a transaction taking a slot and marking the message dispatched, then its record is sent.
        Run it after anything that frees a slot or adds a message: enqueue, a final state, resume, upsert.
        If the send is lost (crash), the sweep re-sends the record of the dispatched, overdue message.
        """
        dispatched = 0
        while True:
            queue = self.queues.get(queue_name)
            if queue is None or queue.free_slots == 0:
                return dispatched
            now = self.clock()
            waiting = self.slots.waiting(queue_name, queue.free_slots, now)
            if not waiting:
                return dispatched
            for message_id in waiting:
                outcome = self.slots.dispatch(message_id, queue_name)
                if outcome == DispatchOutcome.QUEUE_FULL:
                    return dispatched
                if outcome == DispatchOutcome.DISPATCHED:
                    self.delivery.send(DeliveryTask(message_id=message_id, attempt=0), now, now)
                    dispatched += 1
                    logger.info("dispatched from queue", queue=queue_name, message_id=message_id)
