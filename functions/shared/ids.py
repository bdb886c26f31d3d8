"""Identifiers: UUIDv7 (RFC 9562), time-ordered so that sort keys list newest/oldest first."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid

_MAX_BORROW_MS = 1000  # ids stay increasing through small clock steps back; larger jumps keep their own time


class _Uuid7:
    """UUIDv7s of the given (or current) millisecond; within one millisecond a 12-bit counter in `rand_a` keeps
    them strictly increasing. An id always carries its own time, even when the clock goes backwards."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0

    def __call__(self, now_ms: int | None = None) -> str:
        ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        with self._lock:
            if self._last_ms - _MAX_BORROW_MS < ms <= self._last_ms:  # same millisecond (or one borrowed ahead)
                self._counter += 1
                if self._counter > 0xFFF:  # 4096 ids in one millisecond: borrow the next one
                    self._last_ms += 1
                    self._counter = 0
                ms = self._last_ms
            else:  # a new millisecond, or a clock that jumped: a random counter start, leaving room to count up
                self._last_ms, self._counter = ms, int.from_bytes(os.urandom(2)) & 0x3FF
            counter = self._counter
        rand_b = int.from_bytes(os.urandom(8)) & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
        return str(uuid.UUID(int=value))


uuid7 = _Uuid7()


def uuid7_bound(unix_ms: int, *, upper: bool) -> str:
    """The smallest (or largest) UUIDv7 string of a millisecond: a range key for "created between" queries."""
    ms = max(0, min(unix_ms, (1 << 48) - 1)) << 80
    low = ms | 0x7 << 76 | 0b10 << 62
    high = ms | 0x7 << 76 | 0xFFF << 64 | 0b10 << 62 | ((1 << 62) - 1)
    return str(uuid.UUID(int=high if upper else low))


_UUID7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def is_uuid7(text: str) -> bool:
    """A UUIDv7 as `uuid7` writes it (lower case, hyphenated)."""
    return bool(_UUID7.fullmatch(text))


def time_of_uuid7(identifier: str) -> int:
    """The unix ms a UUIDv7 was made in (its first 48 bits)."""
    return int(identifier.replace("-", "")[:12], 16)
