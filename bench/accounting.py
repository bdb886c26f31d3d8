"""The accounting invariant of at-least-once delivery, checked over Postbox's own API.

For a set of published messages: every one ends as exactly one of delivered, dead-lettered (in the DLQ) or
cancelled; its event log agrees (it starts CREATED and ends in that one final state, with no other final state
before it); and the destination saw every delivered one at least once. A message that breaks any of these is
*lost* (there must be none). Deliveries beyond the first are *duplicates*: allowed by at-least-once, counted and
reported. Used by the soak (`make soak`, `tests/e2e/test_soak.py`) and usable from any test or benchmark.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

FINAL = ("DELIVERED", "FAILED", "CANCELED")


class Api(Protocol):
    def __call__(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """GET `path` with query `params` from Postbox; the JSON answer."""


@dataclass
class Report:
    published: int
    delivered: int = 0
    dead_lettered: int = 0
    cancelled: int = 0
    lost: dict[str, str] = field(default_factory=dict)  # message id -> what is wrong with it
    duplicate_deliveries: int = 0  # deliveries beyond each message's first
    duplicated_messages: int = 0  # messages delivered more than once
    unexpected_deliveries: int = 0  # the destination saw a message id nobody published

    @property
    def duplicate_rate(self) -> float:
        return self.duplicate_deliveries / self.delivered if self.delivered else 0.0

    @property
    def settled(self) -> int:
        return self.delivered + self.dead_lettered + self.cancelled

    def summary(self) -> str:
        return (
            f"published {self.published}: delivered {self.delivered}, dead-lettered {self.dead_lettered}, "
            f"cancelled {self.cancelled}, lost {len(self.lost)}; duplicate deliveries {self.duplicate_deliveries} "
            f"({self.duplicate_rate:.2%} of delivered, {self.duplicated_messages} messages), "
            f"unexpected deliveries {self.unexpected_deliveries}"
        )


def pages(api: Api, path: str, key: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item of a cursor-paged list."""
    cursor: str | None = None
    while True:
        answer = api(path, {**params, **({"cursor": cursor} if cursor else {})})
        yield from answer.get(key) or []
        cursor = answer.get("cursor")
        if not cursor:
            return


def final_states(api: Api, since_ms: int) -> dict[str, list[str]]:
    """Each message's logged states since `since_ms`, oldest first."""
    states: dict[str, list[str]] = defaultdict(list)
    for event in pages(api, "/v2/events", "events", {"fromDate": since_ms, "order": "earliestFirst", "count": 1000}):
        states[event["messageId"]].append(event["state"])
    return states


def dead_lettered(api: Api) -> Counter[str]:
    """How many DLQ entries each message has."""
    return Counter(entry["messageId"] for entry in pages(api, "/v2/dlq", "messages", {"count": 100}))


def account(
    published: Iterable[str],
    log: Mapping[str, list[str]],
    dlq: Mapping[str, int],
    deliveries: Mapping[str, int],
    cancelled: Iterable[str] = (),
) -> Report:
    """Check the invariant. `log`: each message's logged states, oldest first; `dlq`: DLQ entries per message;
    `deliveries`: the 2xx answers the destination gave per message id; `cancelled`: the messages a client asked
    to cancel (any of them may have been delivered before the cancel arrived)."""
    ids = set(published)
    asked_to_cancel = set(cancelled)
    report = Report(published=len(ids))
    for message_id in sorted(ids):
        states = log.get(message_id, [])
        problem = _problem(states, dlq.get(message_id, 0), deliveries.get(message_id, 0), message_id in asked_to_cancel)
        if problem:
            report.lost[message_id] = problem
        elif states[-1] == "DELIVERED":
            report.delivered += 1
        elif states[-1] == "FAILED":
            report.dead_lettered += 1
        else:
            report.cancelled += 1
    for message_id, count in deliveries.items():
        if message_id not in ids:
            report.unexpected_deliveries += count
        elif count > 1:
            report.duplicate_deliveries += count - 1
            report.duplicated_messages += 1
    return report


def _problem(states: list[str], dlq_entries: int, received: int, asked_to_cancel: bool) -> str | None:
    """What breaks the invariant for one message, or None."""
    finals = [state for state in states if state in FINAL]
    if not states or states[0] != "CREATED":
        return f"log does not start CREATED: {states}"
    if len(finals) != 1 or states[-1] != finals[0]:
        return f"not exactly one final state, last: {states}"
    final = finals[0]
    checks = (
        (final == "DELIVERED" and not received, "logged DELIVERED, never received"),
        (final == "FAILED" and dlq_entries != 1, f"logged FAILED with {dlq_entries} DLQ entries"),
        (final != "FAILED" and dlq_entries > 0, f"logged {final} but in the DLQ"),
        (final == "CANCELED" and not asked_to_cancel, "CANCELED without a cancel"),
    )
    return next((problem for broken, problem in checks if broken), None)
