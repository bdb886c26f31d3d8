"""The flow control headers: per-key limits on deliveries in flight (parallelism) and started per period (rate)."""

from __future__ import annotations

import re

from functions.core.durations import parse_duration
from functions.core.models import FlowControl
from functions.shared.errors import BadRequestError

MAX_PERIOD_S = 7 * 86400
_PART = re.compile(r"^\s*(parallelism|rate|period)\s*=\s*(\S+)\s*$", re.IGNORECASE)


def parse_flow_control(key: str | None, value: str | None) -> FlowControl | None:
    """`Upstash-Flow-Control-Key` and `-Value` (`parallelism=3, rate=4, period=2s`); 400 when malformed."""
    if key is None:
        if value is not None:
            raise BadRequestError("Upstash-Flow-Control-Value needs Upstash-Flow-Control-Key")
        return None
    key = key.strip()
    if not key or len(key) > 256:
        raise BadRequestError("invalid Upstash-Flow-Control-Key: 1 to 256 characters")
    settings: dict[str, str] = {}
    for part in filter(str.strip, (value or "").split(",")):
        match = _PART.match(part)
        if match is None:
            raise BadRequestError(f"invalid Upstash-Flow-Control-Value part {part.strip()!r}")
        settings[match.group(1).lower()] = match.group(2)
    if not settings:
        raise BadRequestError("Upstash-Flow-Control-Value must set parallelism, rate or both")

    def positive(name: str) -> int | None:
        raw = settings.get(name)
        if raw is None:
            return None
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or int(raw) < 1:
            raise BadRequestError(f"invalid flow control {name} {raw!r}: a whole number from 1 to 999999999")
        return int(raw)

    period = parse_duration(settings["period"], "flow control period") if "period" in settings else 1
    if not 1 <= period <= MAX_PERIOD_S:
        raise BadRequestError("invalid flow control period: between 1s and 7d")
    parallelism, rate = positive("parallelism"), positive("rate")
    if parallelism is None and rate is None:
        raise BadRequestError("Upstash-Flow-Control-Value must set parallelism, rate or both")
    return FlowControl(key=key, parallelism=parallelism, rate=rate, period_s=period)
