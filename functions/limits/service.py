"""API rate limiting: a fixed window of N requests per caller, counted in DynamoDB across all instances.

Each instance takes the window's requests in leases (up to `lease_size` at once, never past the limit) and
spends them locally, so a counter write is paid once per lease instead of once per request. The price: requests
leased by one instance and not used by the end of the window are not available to the others (at most
`lease_size - 1` per instance and window; the lease size is a hundredth of the limit, at most 20). Requests
over the limit write nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from functions.limits.repository import CounterStorePort
from functions.shared.clock import Clock, now_ms

MAX_LEASE = 20


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


@dataclass
class _Lease:
    key: str  # the window's counter
    left: int  # requests taken and not yet spent by this instance
    counted: int  # the counter's value when the lease was taken


class Limiter(Protocol):
    """What the API's gate needs of a rate limiter."""

    @property
    def enabled(self) -> bool: ...

    def hit(self, caller: str) -> RateLimitStatus: ...


class RateLimiter:
    def __init__(
        self,
        counters: CounterStorePort,
        limit: int,
        window_s: int,
        clock: Clock = now_ms,
        lease_size: int | None = None,
    ) -> None:
        self.counters = counters
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.lease_size = lease_size or max(1, min(MAX_LEASE, limit // 100))
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def hit(self, caller: str) -> RateLimitStatus:
        """Count one request of `caller` in the current window."""
        now_s = self.clock() // 1000
        window_start = now_s - now_s % self.window_s
        reset = window_start + self.window_s
        key = f"ratelimit#{caller}#{window_start}"
        with self._lock:
            lease = self._leases.get(caller)
            if lease is None or lease.key != key or (lease.left == 0 and lease.counted < self.limit):
                lease = self._leases[caller] = self._take(key, expires_at_ms=(reset + 60) * 1000)
            allowed = lease.left > 0
            lease.left -= allowed
            remaining = self.limit - lease.counted + lease.left
        return RateLimitStatus(limit=self.limit, remaining=max(0, remaining), reset_s=reset, allowed=allowed)

    def _take(self, key: str, expires_at_ms: int) -> _Lease:
        """A new lease of the window `key`: the usual size, or what is left of the limit."""
        units = self.lease_size
        while units > 0:
            taken, counted = self.counters.take(key, units, self.limit, expires_at_ms)
            if taken:
                return _Lease(key, left=units, counted=counted)
            units = min(units - 1, self.limit - counted)  # another instance took some: ask for what is left
        return _Lease(key, left=0, counted=self.limit)
