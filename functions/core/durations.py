"""Durations as the headers write them: `10s`, `1h30m`, `2d`, or a bare number of seconds."""

from __future__ import annotations

import re

from functions.shared.errors import BadRequestError

# The furthest ahead a message may be delivered (Upstash-Delay, Upstash-Not-Before): far enough for any use, near
# enough for every date and number the stores and the delay scheduler take.
MAX_DELAY_S = 365 * 86400
_DURATION = re.compile(r"([0-9]+)([smhd])")
_DURATION_FULL = re.compile(r"(?:[0-9]+[smhd])+")
_DIGITS = re.compile(r"[0-9]+")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str, header: str) -> int:
    """`10s`, `1h30m`, `2d` (or a bare number of seconds) to seconds."""
    text = value.strip().lower()
    if len(text) > 40 or not (_DIGITS.fullmatch(text) or _DURATION_FULL.fullmatch(text)):
        raise BadRequestError(f"invalid {header} header {value!r}: expected a duration like 10s, 5m, 1h30m or 2d")
    seconds = int(text) if text.isdigit() else sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(text))
    if seconds > MAX_DELAY_S:
        raise BadRequestError(f"invalid {header} header {value!r}: at most {MAX_DELAY_S // 86400}d")
    return seconds
