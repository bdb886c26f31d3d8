"""Retry policy: when the next attempt happens after a failed one."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC
from decimal import ROUND_CEILING, Decimal
from email.utils import parsedate_to_datetime
from typing import Final

from functions.delivery.expressions import ExpressionError, RetryDelayExpression

MAX_BACKOFF_SECONDS = 86400
MAX_RETRY_AFTER_MS = 86_400_000

# Response headers through which a destination can pick the next retry time, in order of precedence.
RETRY_AFTER_HEADERS: Final = (
    "retry-after",
    "x-ratelimit-reset",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
)
NON_RETRYABLE_STATUS: Final = 489
NON_RETRYABLE_HEADER: Final = "upstash-nonretryable-error"

_UNIX_TIMESTAMP_THRESHOLD: Final = Decimal(10**9)  # X-RateLimit-Reset* numbers above this are unix seconds
_MAX_HEADER_VALUE_LENGTH: Final = 128
_NUMBER_RE: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")
_DURATION_PART: Final = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h)"
_DURATION_RE: Final = re.compile(rf"(?:{_DURATION_PART})+")
_DURATION_PART_RE: Final = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_NS_PER_UNIT: Final = {
    "ns": Decimal(1),
    "us": Decimal(1_000),
    "\u00b5s": Decimal(1_000),  # micro sign
    "\u03bcs": Decimal(1_000),  # Greek mu (Go accepts both)
    "ms": Decimal(1_000_000),
    "s": Decimal(1_000_000_000),
    "m": Decimal(60_000_000_000),
    "h": Decimal(3_600_000_000_000),
}


def default_backoff_seconds(retry_number: int) -> float:
    """QStash's default: `min(86400, e^(2.5 n))` seconds before retry n (1 -> 12 s, 2 -> 2 m 28 s, 3 -> 30 m)."""
    if retry_number >= 5:  # e^12.5 already exceeds a day; avoid overflow for large n
        return MAX_BACKOFF_SECONDS
    return min(MAX_BACKOFF_SECONDS, math.exp(2.5 * retry_number))


def next_attempt_at_ms(now_ms: int, retry_number: int) -> int:
    return now_ms + int(default_backoff_seconds(retry_number) * 1000)


def _header_values(headers: Mapping[str, Sequence[str]], name: str) -> list[str]:
    """All values of header `name` (lower case), whatever the case of the keys in `headers`."""
    values: list[str] = []
    for key, value in headers.items():
        if key.lower() == name:
            values.extend([value] if isinstance(value, str) else value)
    return values


def _ceil_ms(milliseconds: Decimal) -> int:
    """Round up: a destination asking to wait 1.0001 ms must not be retried 1 ms early."""
    return int(milliseconds.to_integral_value(rounding=ROUND_CEILING))


def _parse_seconds(text: str, *, absolute_numbers: bool, now_ms: int) -> int | None:
    if not _NUMBER_RE.fullmatch(text):
        return None
    seconds = Decimal(text)  # the regex only lets plain decimals through
    if absolute_numbers and seconds > _UNIX_TIMESTAMP_THRESHOLD:
        return max(0, _ceil_ms(seconds * 1000 - now_ms))
    return _ceil_ms(seconds * 1000)


def _parse_duration(text: str) -> int | None:
    """Go's `time.ParseDuration` format without a sign: `6m5s`, `1h`, `250ms`, `1.5s`."""
    if not _DURATION_RE.fullmatch(text):
        return None
    parts = _DURATION_PART_RE.findall(text)
    total_ns = sum((Decimal(number) * _NS_PER_UNIT[unit] for number, unit in parts), Decimal(0))
    return _ceil_ms(total_ns / 1_000_000)


def _parse_http_date(text: str, now_ms: int) -> int | None:
    """IMF-fixdate, RFC 850 or asctime (RFC 7231 section 7.1.1.1); a date in the past means 0."""
    try:
        when = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # asctime dates carry no zone; HTTP dates are always GMT
        when = when.replace(tzinfo=UTC)
    return max(0, _ceil_ms(Decimal(str(when.timestamp())) * 1000 - now_ms))


def _parse_delay_value(value: str, *, absolute_numbers: bool, now_ms: int) -> int | None:
    """One header value -> delay in ms (not yet capped), or None when it is not in a known format."""
    text = value.strip()
    if not text or len(text) > _MAX_HEADER_VALUE_LENGTH:
        return None
    delay = _parse_seconds(text, absolute_numbers=absolute_numbers, now_ms=now_ms)
    if delay is None:
        delay = _parse_duration(text)
    if delay is None:
        delay = _parse_http_date(text, now_ms)
    return delay


def parse_retry_after(headers: Mapping[str, Sequence[str]], now_ms: int) -> int | None:
    """Delay in ms requested by the destination's response, or None.

    Looks at Retry-After, X-RateLimit-Reset, X-RateLimit-Reset-Requests and X-RateLimit-Reset-Tokens (names are
    case-insensitive); the first value that parses wins, in that order. Accepted values: integer or decimal seconds
    (`120`, `1.5`), an HTTP date (relative to `now_ms`; a past date means 0), or a Go-style duration (`6m5s`, `250ms`;
    units ns, us, µs, ms, s, m, h). In the X-RateLimit-Reset* headers a number above 10^9 is a unix timestamp in
    seconds. `0` means retry now. A delay above one day gives None, as does anything unparseable: the caller then
    falls back to its own policy (expression or default backoff).
    """
    for name in RETRY_AFTER_HEADERS:
        for value in _header_values(headers, name):
            delay = _parse_delay_value(value, absolute_numbers=name != "retry-after", now_ms=now_ms)
            if delay is not None:
                return delay if delay <= MAX_RETRY_AFTER_MS else None
    return None


def is_non_retryable(status: int | None, headers: Mapping[str, Sequence[str]]) -> bool:
    """True when the destination answered 489 with `Upstash-NonRetryable-Error: true`: fail at once, no retries."""
    if status != NON_RETRYABLE_STATUS:
        return False
    return any(value.strip().lower() == "true" for value in _header_values(headers, NON_RETRYABLE_HEADER))


def next_retry_delay_ms(
    *,
    retry_number: int,
    expression: RetryDelayExpression | None,
    response_headers: Mapping[str, Sequence[str]],
    now_ms: int,
) -> int:
    """Delay in ms before retry `retry_number` (1 = first retry).

    Precedence: the destination's Retry-After-style header (when present and at most one day), then the message's
    `Upstash-Retry-Delay` expression evaluated with `retried = retry_number - 1`, then the default backoff
    `min(86400, e^(2.5 n))` s. An expression that fails to evaluate (overflow, division by zero...) falls back to the
    default backoff rather than failing the delivery.
    """
    requested = parse_retry_after(response_headers, now_ms)
    if requested is not None:
        return requested
    if expression is not None:
        try:
            return expression.delay_ms(retry_number - 1)
        except ExpressionError:
            pass
    return int(default_backoff_seconds(retry_number) * 1000)
