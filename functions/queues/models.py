"""FIFO queues: messages enqueued to a queue are delivered in order, at most `parallelism` at a time."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Queue(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    parallelism: int = 1
    paused: bool = False
    created_at_ms: int
    updated_at_ms: int
    in_flight: int = 0  # messages dispatched to delivery and not finished (each holds a slot)

    @property
    def free_slots(self) -> int:
        return 0 if self.paused else max(0, self.parallelism - self.in_flight)
