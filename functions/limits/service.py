"""API rate limiting: a fixed window of N requests per caller, counted in DynamoDB across all instances."""

from __future__ import annotations

from dataclasses import dataclass

from functions.limits.repository import CounterRepository
from functions.shared.clock import Clock, now_ms


@dataclass(frozen=True)
class RateLimitStatus:
    limit: int
    remaining: int
    reset_s: int  # unix seconds when the window ends
    allowed: bool

    def headers(self, prefix: str = "X-RateLimit-") -> dict[str, str]:
        return {
            f"{prefix}Limit": str(self.limit),
            f"{prefix}Remaining": str(self.remaining),
            f"{prefix}Reset": str(self.reset_s),
        }


class RateLimiter:
    def __init__(self, counters: CounterRepository, limit: int, window_s: int, clock: Clock = now_ms) -> None:
        self.counters = counters
        self.limit = limit
        self.window_s = window_s
        self.clock = clock

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def hit(self, caller: str) -> RateLimitStatus:
        """Count one request of `caller` in the current window."""
        now_s = self.clock() // 1000
        window_start = now_s - now_s % self.window_s
        reset = window_start + self.window_s
        count = self.counters.increment(f"ratelimit#{caller}#{window_start}", expires_at_s=reset + 60)
        return RateLimitStatus(
            limit=self.limit, remaining=max(0, self.limit - count), reset_s=reset, allowed=count <= self.limit
        )
