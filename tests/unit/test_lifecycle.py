"""The decision table for a delivery record that cannot claim its message (functions/core/lifecycle.py)."""

from __future__ import annotations

import pytest

from functions.core import lifecycle
from functions.core.lifecycle import Facts, MessageState, RecordFate, record_fate
from functions.core.models import MessageStatus

NOW = 1_800_000_000_000


def status(state: MessageState, attempt: int = 1, **fields: object) -> MessageStatus:
    fields = {"next_delivery_at_ms": NOW, **fields}
    return MessageStatus(state=state, attempt=attempt, updated_at_ms=NOW, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("found", "record_attempt", "fate"),
    [
        (None, 1, RecordFate.DROP_UNKNOWN),
        (status(MessageState.RETRY, cancel_requested=True), 1, RecordFate.FINISH_CANCEL),
        (status(MessageState.RETRY, attempt=2), 1, RecordFate.RESEND_NEXT),
        (status(MessageState.DELIVERED), 1, RecordFate.RESEND_FOLLOW_UPS),
        (status(MessageState.FAILED), 1, RecordFate.RESEND_FOLLOW_UPS),
        (status(MessageState.DELIVERED), 0, RecordFate.DROP_STALE),
        (status(MessageState.RETRY, attempt=3), 1, RecordFate.DROP_STALE),
        (status(MessageState.CREATED, next_delivery_at_ms=NOW + 60_000), 1, RecordFate.NOT_DUE),
        (status(MessageState.ACTIVE), 1, RecordFate.BUSY),
        (status(MessageState.CREATED, queue_waiting=True), 1, RecordFate.DROP),
    ],
)
def test_what_becomes_of_a_record_that_cannot_claim(found: MessageStatus | None, record_attempt: int, fate: RecordFate):
    assert record_fate(found, record_attempt, NOW) == fate


@pytest.mark.parametrize("transition", lifecycle.TRANSITIONS, ids=lambda t: t.name)
def test_every_guard_checks_the_state_and_the_attempt(transition: lifecycle.Transition):
    condition, placeholders = transition.condition(Facts(4, NOW))
    assert condition.startswith("#state IN (") and "attempt = :attempt" in condition
    assert placeholders[":attempt"] == 4
    assert all(f":state{s.value.title().replace('_', '')}" in placeholders for s in transition.sources)
