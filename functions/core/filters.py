"""What a list or bulk action selects: the filters of GET/DELETE /v2/dlq, POST /v2/dlq/retry, GET /v2/events and
/v2/logs, and DELETE /v2/messages, in one form for every store. No AWS types here.

Each field holds the values the client gave: a record matches a field when it equals any of them (OR), and it
matches the filter when it matches every field given (AND). A field not given places no condition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

# The response statuses a record can have; a filter value outside them matches nothing.
STATUS_RANGE = range(100, 600)


@dataclass(frozen=True)
class RecordFilter:
    """The conditions on the stored attributes of a message, a DLQ entry or a log entry (dates are unix ms)."""

    message_ids: tuple[str, ...] | None = None
    urls: tuple[str, ...] | None = None
    hosts: tuple[str, ...] | None = None
    paths: tuple[str, ...] | None = None
    topic_names: tuple[str, ...] | None = None
    schedule_ids: tuple[str, ...] | None = None
    queue_names: tuple[str, ...] | None = None
    caller_ips: tuple[str, ...] | None = None
    labels: tuple[str, ...] | None = None
    flow_control_keys: tuple[str, ...] | None = None
    response_statuses: tuple[int, ...] | None = None
    states: tuple[str, ...] | None = None
    from_ms: int | None = None
    to_ms: int | None = None

    @cached_property  # (read for every record a page examines: worked out once per filter)
    def is_empty(self) -> bool:
        """No condition at all: every record matches."""
        return all(getattr(self, f.name) is None for f in fields(self))

    @cached_property
    def matches_nothing(self) -> bool:
        """A condition no record can meet: a field given with no value (an empty id list), or only response
        statuses that no response has."""
        if any(value == () for value in (getattr(self, f.name) for f in fields(self))):
            return True
        statuses = self.response_statuses
        return statuses is not None and not any(status in STATUS_RANGE for status in statuses)

    def in_range(self, time_ms: int) -> bool:
        return (self.from_ms is None or time_ms >= self.from_ms) and (self.to_ms is None or time_ms <= self.to_ms)

    def matches(self, item: Mapping[str, Any]) -> bool:
        """Whether a stored record (its attributes by their stored names: `url`, `labels`, `queueName`, ...) meets
        every condition but the dates, which each store reads from its own key."""
        if self.matches_nothing:
            return False
        url = str(item.get("url", ""))
        return (
            _any_of(self.message_ids, item.get("messageId"))
            and _any_of(self.urls, url)
            and _any_of(self.topic_names, item.get("topicName"))
            and _any_of(self.schedule_ids, item.get("scheduleId"))
            and _any_of(self.queue_names, item.get("queueName"))
            and _any_of(self.caller_ips, item.get("callerIp"))
            and _any_of(self.flow_control_keys, item.get("flowControlKey"))
            and _any_of(self.states, item.get("state"))
            and _any_of(self.response_statuses, _int(item.get("responseStatus")))
            and (self.labels is None or not set(self.labels).isdisjoint(item.get("labels") or ()))
            and (self.hosts is None or not host_names(url).isdisjoint(h.lower() for h in self.hosts))
            and (self.paths is None or url_path(url) in self.paths)
        )


def _any_of(options: Iterable[Any] | None, value: Any) -> bool:
    return options is None or value in options


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def host_names(url: str) -> set[str]:
    """The names a `host` filter may give for the URL's host: with its port and without (lower case)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return set()
    if not host:
        return set()
    name = f"[{host}]" if ":" in host else host  # an IPv6 literal is written in brackets
    names = {name, host}
    if port is not None:
        names.add(f"{name}:{port}")
    return names


def url_path(url: str) -> str:
    """The URL's path (`/` when it has none), as a `path` filter matches it exactly."""
    try:
        return urlsplit(url).path or "/"
    except ValueError:
        return ""
