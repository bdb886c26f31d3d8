"""Flow-control keys: their state, pause/resume, pin/unpin, reset of the rate window."""

from __future__ import annotations

from dataclasses import dataclass

from functions.core.lifecycle import MessageState
from functions.flow.repository import FlowState, FlowStorePort
from functions.shared.clock import Clock, now_ms
from functions.shared.errors import BadRequestError, NotFoundError
from functions.stores.protocols import PendingSetPort


@dataclass(frozen=True)
class FlowInfo:
    state: FlowState
    wait_list_size: int
    parallelism_count: int
    rate_count: int
    rate_period_start_s: int


class FlowService:
    def __init__(self, flows: FlowStorePort, pending: PendingSetPort, clock: Clock = now_ms) -> None:
        self.flows = flows
        self.pending = pending
        self.clock = clock

    def get(self, key: str) -> FlowInfo:
        if key not in self.flows.known_keys():
            raise NotFoundError(f"flow control key {key} not found")
        now = self.clock()
        state = self.flows.state(key)
        parallelism, rate, _ = state.limits(None)
        held, starts = self.flows.usage(key, parallelism or 0, rate or 0, now)
        waiting = self.pending.count_pending(now, flowControlKey=key)
        return FlowInfo(
            state=state,
            wait_list_size=max(0, waiting - held),
            parallelism_count=held,
            rate_count=len(starts),
            rate_period_start_s=(min(starts) if starts else now) // 1000,
        )

    def list_all(self) -> list[FlowInfo]:
        return [self.get(key) for key in self.flows.known_keys()]

    def set_paused(self, key: str, paused: bool) -> None:
        self.get(key)
        self.flows.set_fields(key, {"paused": paused})

    def pin(self, key: str, parallelism: int | None, rate: int | None, period_s: int | None) -> None:
        """Fix the limits of a key, whatever its messages ask for; resets the rate window."""
        if parallelism is None and rate is None and period_s is None:
            raise BadRequestError("pin needs parallelism, rate or period")
        if any(v is not None and v < 1 for v in (parallelism, rate, period_s)):
            raise BadRequestError("pinned values must be at least 1")
        state = self.get(key).state
        sets = {
            name: value
            for name, value in (("pinnedParallelism", parallelism), ("pinnedRate", rate), ("pinnedPeriod", period_s))
            if value is not None
        }
        self.flows.set_fields(key, sets)
        self.flows.reset_rate(key, max(state.rate_max or 0, state.pinned_rate or 0, rate or 0))

    def unpin(self, key: str, parallelism: bool, rate: bool) -> None:
        self.get(key)
        removes = (("pinnedParallelism",) if parallelism else ()) + (("pinnedRate", "pinnedPeriod") if rate else ())
        if removes:
            self.flows.set_fields(key, {}, removes)

    def reset_rate(self, key: str) -> None:
        state = self.get(key).state
        self.flows.reset_rate(key, max(state.rate_max or 0, state.pinned_rate or 0))

    def global_parallelism(self) -> tuple[int, int]:
        """(max, count): Postbox sets no account-wide maximum (0); the count is the deliveries in flight now."""
        return 0, self.pending.count_pending(self.clock(), state=MessageState.ACTIVE.value)
