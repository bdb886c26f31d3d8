"""Taking flow-control slots before a delivery attempt, across every worker instance."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from functions.core.models import FlowControl
from functions.flow.repository import FlowStorePort

PROBES = 16  # slots tried per attempt: large limits are sampled, not scanned
PAUSED_WAIT_S = 5


@dataclass(frozen=True)
class Slot:
    key: str
    index: int | None  # the parallelism slot held (None: no parallelism limit)
    token: str
    rate_index: int | None  # the rate slot held (None: no rate limit)
    period_ms: int


@dataclass(frozen=True)
class Wait:
    seconds: int


class FlowLimiter:
    def __init__(self, flows: FlowStorePort, rng: random.Random | None = None) -> None:
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
            index = self._take(
                parallelism, lambda i: self.flows.take_parallel_slot(flow.key, i, token, now_ms, lease_until_ms)
            )
            if index is None:
                return Wait(1)
        rate_index = None
        if rate:
            rate_index = self._take(
                rate, lambda i: self.flows.take_rate_slot(flow.key, i, token, now_ms, lease_until_ms, period * 1000)
            )
            if rate_index is None:
                if index is not None:
                    self.flows.release_parallel_slot(flow.key, index, token)
                return Wait(max(1, period // rate))
        return Slot(flow.key, index, token, rate_index, period * 1000)

    def release(self, slot: Slot, ended_ms: int) -> None:
        """After the attempt: `ended_ms` is read once its answer is in (or it gave up), never before."""
        if slot.index is not None:
            self.flows.release_parallel_slot(slot.key, slot.index, slot.token)
        if slot.rate_index is not None:
            self.flows.release_rate_slot(slot.key, slot.rate_index, slot.token, ended_ms, slot.period_ms)

    def _take(self, slots: int, take: Callable[[int], bool]) -> int | None:
        """The first of the probed slots `take` gets, if any: large limits are sampled, not scanned."""
        order = list(range(slots))
        self.rng.shuffle(order)
        return next((i for i in order[:PROBES] if take(i)), None)
