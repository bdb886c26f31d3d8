"""What is typed on the command line, read into what the API takes: headers, durations, times and filters.

Pure functions: they raise ValueError with a message meant for the user, and the commands turn it into a usage
error (exit code 2) before any request is made.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token (RFC 9110)
_DURATION = re.compile(r"(\d+)([smhd])")
_DURATION_FULL = re.compile(r"(?:\d+[smhd])+")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Numbers below this are unix seconds, from it on milliseconds: 10^11 ms is March 1973, 10^11 s the year 5138.
_SECONDS_BELOW = 10**11

# Headers that go to the API as they are; every other `--header` is forwarded to the destination, as the SDKs do.
_API_HEADER_PREFIX = "upstash-"
_API_HEADERS = frozenset({"content-type"})
FORWARD_PREFIX = "Upstash-Forward-"

TEXT, TIME = "text", "time"
# GET /v2/dlq's filters (also those of POST /v2/dlq/retry and DELETE /v2/dlq), by their API names.
DLQ_FILTERS: Mapping[str, str] = {
    "messageId": TEXT,
    "url": TEXT,
    "topicName": TEXT,
    "scheduleId": TEXT,
    "queueName": TEXT,
    "label": TEXT,
    "responseStatus": TEXT,  # the API checks it is a status code
    "callerIp": TEXT,
    "flowControlKey": TEXT,
    "fromDate": TIME,
    "toDate": TIME,
}
# GET /v2/logs's filters.
LOG_FILTERS: Mapping[str, str] = {
    "messageId": TEXT,
    "state": TEXT,  # the API checks it is a state
    "url": TEXT,
    "host": TEXT,
    "path": TEXT,
    "topicName": TEXT,
    "queueName": TEXT,
    "scheduleId": TEXT,
    "label": TEXT,
    "callerIp": TEXT,
    "flowControlKey": TEXT,
    "fromDate": TIME,
    "toDate": TIME,
}
# Shorter names accepted for the API's (compared without case, `-` or `_`).
_ALIASES = {
    "message": "messageId",
    "topic": "topicName",
    "queue": "queueName",
    "schedule": "scheduleId",
    "status": "responseStatus",
    "from": "fromDate",
    "to": "toDate",
}


def parse_header(text: str) -> tuple[str, str]:
    """`Name: value` (or `Name:value`) to `(Name, value)`."""
    name, colon, value = text.partition(":")
    name = name.strip()
    if not colon or not _HEADER_NAME.fullmatch(name):
        raise ValueError(f"invalid header {text!r}: expected NAME:VALUE, e.g. X-Tenant:7")
    return name, value.strip()


def publish_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The request headers for `--header` pairs: `Upstash-*` and `Content-Type` are the API's own and are sent as
    they are; any other header is for the destination and is sent as `Upstash-Forward-<Name>`. A name given twice
    is sent once, with its values joined by `, ` (as HTTP combines repeated fields)."""
    headers: dict[str, str] = {}
    seen: dict[str, str] = {}  # lower-case name -> the spelling kept
    for name, value in pairs:
        lower = name.lower()
        sent = name if lower.startswith(_API_HEADER_PREFIX) or lower in _API_HEADERS else FORWARD_PREFIX + name
        key = seen.setdefault(sent.lower(), sent)
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def duration_seconds(text: str) -> int:
    """`10s`, `5m`, `1h30m`, `2d`, or a bare number of seconds, to seconds."""
    value = text.strip().lower()
    if value.isdigit():
        return int(value)
    if not _DURATION_FULL.fullmatch(value):
        raise ValueError(f"invalid duration {text!r}: expected seconds or e.g. 10s, 5m, 1h30m, 2d")
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION.findall(value))


def parse_duration(text: str) -> str:
    """A duration as the `Upstash-Delay` / `Upstash-Timeout` headers take it (`90` becomes `90s`)."""
    seconds = duration_seconds(text)
    return f"{seconds}s" if text.strip().isdigit() else text.strip().lower()


def parse_instant(text: str) -> int:
    """A point in time, to unix milliseconds: unix seconds or milliseconds (a number below 10^11 is seconds), or an
    ISO 8601 date or date-time (`2026-11-23`, `2026-11-23T10:00:00+01:00`; UTC when it names no offset)."""
    value = text.strip()
    if value.isdigit():
        number = int(value)
        return number * 1000 if number < _SECONDS_BELOW else number
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"invalid time {text!r}: expected unix seconds or milliseconds, or an ISO 8601 date-time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def parse_since(text: str, now_ms: int) -> int:
    """Like `parse_instant`, and also a duration meaning that long ago (`30m`, `2h`, `1d`)."""
    value = text.strip().lower()
    if not value.isdigit() and _DURATION_FULL.fullmatch(value):
        return now_ms - duration_seconds(value) * 1000
    return parse_instant(text)


def parse_filters(pairs: Sequence[str], allowed: Mapping[str, str], now_ms: int) -> dict[str, list[str]]:
    """`KEY=VALUE` filters to the API's query parameters (a key given again adds a value: any of them matches).

    Keys are the API's names (`responseStatus`) or a short form (`status`), compared without case, `-` or `_`.
    Times (`fromDate`, `toDate`) are read by `parse_since` and sent as unix milliseconds; each is given once."""
    names = {_fold(name): name for name in allowed}
    names |= {_fold(alias): name for alias, name in _ALIASES.items() if name in allowed}
    filters: dict[str, list[str]] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        name = names.get(_fold(key))
        if not equals or not key.strip():
            raise ValueError(f"invalid filter {pair!r}: expected KEY=VALUE, e.g. url=https://example.com/hook")
        if name is None:
            raise ValueError(f"unknown filter {key.strip()!r}: use one of {', '.join(allowed)}")
        if name in filters and allowed[name] == TIME:
            raise ValueError(f"filter {name} given twice")
        if not value.strip():
            raise ValueError(f"filter {name} needs a value")
        filters.setdefault(name, []).append(str(parse_since(value, now_ms)) if allowed[name] == TIME else value.strip())
    return filters


def _fold(key: str) -> str:
    return key.strip().lower().replace("-", "").replace("_", "")


def format_time(ms: int | None) -> str:
    """Unix milliseconds as `2026-11-23 10:00:00` (UTC); an empty string for none."""
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
