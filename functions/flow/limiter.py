"""Taking flow-control slots before a delivery attempt, across every worker instance."""

from __future__ import annotations

import random
from dataclasses import dataclass

from functions.core.models import FlowControl
from functions.flow.repository import FlowRepository

PROBES = 16  # slots tried per attempt: large limits are sampled, not scanned
PAUSED_WAIT_S = 5


@dataclass(frozen=True)
class Slot:
    key: str
    index: int | None  # the parallelism slot held (None: no parallelism limit)
    token: str


@dataclass(frozen=True)
class Wait:
    seconds: int


class FlowLimiter:
    def __init__(self, flows: FlowRepository, rng: random.Random | None = None) -> None:
        self.flows = flows
        self.rng = rng or random.Random()

    def acquire(self, flow: FlowControl, token: str, now_ms: int, lease_until_ms: int) -> Slot | Wait:
        """A parallelism slot and a rate slot for one attempt, or how long to wait before trying again."""
        state = self.flows.state(flow.key)
        if state.paused:
            return Wait(PAUSED_WAIT_S)
        parallelism, rate, period = state.limits(flow)
        index = None
        if parallelism:
            index = next(
                (
                    i
                    for i in self._probe(parallelism)
                    if self.flows.take_parallel_slot(flow.key, i, token, now_ms, lease_until_ms)
                ),
                None,
            )
            if index is None:
                return Wait(1)
        if rate and not any(self.flows.take_rate_slot(flow.key, i, now_ms, period * 1000) for i in self._probe(rate)):
            if index is not None:
                self.flows.release_parallel_slot(flow.key, index, token)
            return Wait(max(1, period // rate))
        return Slot(flow.key, index, token)

    def release(self, slot: Slot) -> None:
        if slot.index is not None:
            self.flows.release_parallel_slot(slot.key, slot.index, slot.token)

    def _probe(self, slots: int) -> list[int]:
        order = list(range(slots))
        self.rng.shuffle(order)
        return order[:PROBES]
