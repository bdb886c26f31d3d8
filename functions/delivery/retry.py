"""Retry policy: when the next attempt happens after a failed one."""

from __future__ import annotations

import math

MAX_BACKOFF_SECONDS = 86400


def default_backoff_seconds(retry_number: int) -> float:
    """QStash's default: `min(86400, e^(2.5 n))` seconds before retry n (1 -> 12 s, 2 -> 2 m 28 s, 3 -> 30 m)."""
    if retry_number >= 5:  # e^12.5 already exceeds a day; avoid overflow for large n
        return MAX_BACKOFF_SECONDS
    return min(MAX_BACKOFF_SECONDS, math.exp(2.5 * retry_number))


def next_attempt_at_ms(now_ms: int, retry_number: int) -> int:
    return now_ms + int(default_backoff_seconds(retry_number) * 1000)
