"""Which unfinished messages the sparse pending index tracks, and that the pending set is complete either way: a
first try is never written to the index; a message that may wait is from its publish; the sweep tracks the rest once
they are a minute old, and moves the watermark the readers scan from."""

from __future__ import annotations

import boto3
import pytest

from functions.composition.stores import Stores
from functions.core import lifecycle
from functions.core.filters import RecordFilter
from functions.core.lifecycle import MessageState
from functions.core.models import AttemptResult, FlowControl, MessageRequest, MessageStatus
from functions.shared.clock import now_ms
from functions.shared.config import get_settings
from functions.shared.dynamo import from_item
from functions.shared.ids import uuid7
from functions.stores.message_items import TRACK_AFTER_MS, state_key
from functions.stores.messages import NewMessage

NOW = now_ms()


def new(at: int, **request: object) -> NewMessage:
    not_before = int(request.pop("not_before_ms", at))  # type: ignore[call-overload]
    message = MessageRequest(message_id=uuid7(at), not_before_ms=not_before, created_at_ms=at, **request)  # type: ignore[arg-type]
    return NewMessage(
        message,
        MessageStatus(state=MessageState.CREATED, next_delivery_at_ms=not_before, updated_at_ms=at),
        4_000_000_000_000,
    )


def tracked(message_id: str) -> bool:
    item = boto3.client("dynamodb").get_item(TableName=get_settings().messages_table, Key=state_key(message_id))
    return "pendingKey" in from_item(item["Item"])


@pytest.fixture
def store(postbox):
    return Stores(get_settings()).messages


def test_a_first_try_is_not_tracked_but_is_pending_until_it_ends(store) -> None:
    # Given an immediate message, just published
    immediate = new(NOW, url="https://a.example.com/")
    store.store.create(immediate)
    message_id = immediate.request.message_id
    # Then the index does not track it, and the pending set still has it
    assert not tracked(message_id)
    assert list(store.pending.pending_ids(RecordFilter(), NOW)) == [message_id]
    assert store.pending.count_pending(NOW, state="CREATED") == 1
    # And once delivered, it is pending no more (its claim and its delivery wrote nothing to the index)
    claimed = store.moves.claim(message_id, 0, NOW + 10, NOW + 60_000)
    assert store.pending.count_pending(NOW, state="ACTIVE") == 1 and not tracked(message_id)
    assert store.moves.outcome(
        lifecycle.DELIVER, claimed.request, 0, _ok(), now_ms=NOW + 20, visible_until_ms=NOW + 60_000
    )
    assert list(store.pending.pending_ids(RecordFilter(), NOW)) == []


@pytest.mark.parametrize(
    "request_fields",
    [
        {"not_before_ms": NOW + 3_600_000},  # a delay
        {"flow_control": FlowControl(key="k", parallelism=1)},
        {"queue_name": "q"},
    ],
    ids=["delayed", "flow-control", "queued"],
)
def test_a_message_that_may_wait_is_tracked_from_its_publish(store, request_fields: dict[str, object]) -> None:
    waiting = new(NOW, url="https://a.example.com/", **request_fields)
    store.store.create(waiting)
    assert tracked(waiting.request.message_id)
    assert list(store.pending.pending_ids(RecordFilter(), NOW)) == [waiting.request.message_id]


def test_a_retry_is_tracked(store) -> None:
    immediate = new(NOW, url="https://a.example.com/")
    store.store.create(immediate)
    claimed = store.moves.claim(immediate.request.message_id, 0, NOW + 10, NOW + 60_000)
    assert store.moves.outcome(lifecycle.RETRY, claimed.request, 0, _failed(), now_ms=NOW + 20, next_at_ms=NOW + 5_000)
    assert tracked(immediate.request.message_id)


def test_the_sweep_tracks_what_is_unfinished_a_minute_on_and_the_set_stays_complete(store) -> None:
    # Given three immediate messages published two minutes ago, one since delivered, and one published now
    old = [new(NOW - 120_000 + i, url=f"https://{i}.example.com/") for i in range(3)]
    for message in old:
        store.store.create(message)
    first = store.moves.claim(old[0].request.message_id, 0, NOW - 100_000, NOW)
    assert store.moves.outcome(
        lifecycle.DELIVER, first.request, 0, _ok(), now_ms=NOW - 90_000, visible_until_ms=NOW + 60_000
    )
    recent = new(NOW, url="https://recent.example.com/")
    store.store.create(recent)
    expected = [old[1].request.message_id, old[2].request.message_id, recent.request.message_id]
    assert list(store.pending.pending_ids(RecordFilter(), NOW)) == expected
    # When the sweep's tracking runs
    assert store.pending.track_waiting(NOW) == 2
    # Then the two old unfinished ones are tracked, the delivered and the recent one are not, the watermark moved,
    # and the pending set is the same, in the same order
    assert [tracked(m.request.message_id) for m in old] == [False, True, True]
    assert not tracked(recent.request.message_id)
    assert store.pending._watermark_ms() == NOW - TRACK_AFTER_MS
    assert list(store.pending.pending_ids(RecordFilter(), NOW)) == expected
    # And a second run finds nothing more to do
    assert store.pending.track_waiting(NOW) == 0


def _ok() -> AttemptResult:
    return AttemptResult(status=200)


def _failed() -> AttemptResult:
    return AttemptResult(status=500)


def test_the_overdue_are_found_tracked_or_not(store) -> None:
    # Given a message whose record was lost two minutes ago, and one lost ten seconds ago
    old, recent = new(NOW - 120_000, url="https://old.example.com/"), new(NOW - 10_000, url="https://new.example.com/")
    for message in (old, recent):
        store.store.create(message)
    # When the sweep tracks what is a minute old, then looks for what is overdue by 90 s (read from the index only,
    # since nothing after the watermark can be), and by 5 s (read with the state items after the watermark)
    assert store.pending.track_waiting(NOW) == 1
    assert [m for m, _ in store.pending.overdue(NOW - 90_000, NOW)] == [old.request.message_id]
    assert [m for m, _ in store.pending.overdue(NOW - 5_000, NOW)] == [
        old.request.message_id,
        recent.request.message_id,
    ]
