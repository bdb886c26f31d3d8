"""The message and delivery services against in-memory fakes."""

import base64
import json
from collections.abc import Iterable

import pytest

from functions.core import lifecycle
from functions.core.filters import RecordFilter
from functions.core.lifecycle import MessageState
from functions.core.models import (
    MAX_ERROR_CHARS,
    MAX_RESPONSE_BODY_BYTES,
    MAX_RESPONSE_HEADER_BYTES,
    AttemptResult,
    DeliveryTask,
)
from functions.delivery.service import ClaimBusyError, DeliveryPolicy, DeliveryService, Outcome
from functions.messages.publish import PublishLimits
from functions.messages.service import MessageService, Published, PublishInput
from functions.shared.errors import NotFoundError, ServiceUnavailableError
from functions.shared.ssrf import AddressPolicy
from tests.fakes import Clock, FakeDlq, FakeMessages, FakeQueue, FakeSender

LIMITS = PublishLimits(default_retries=3, max_retries=10, max_body_bytes=1024, addresses=AddressPolicy())
POLICY = DeliveryPolicy(attempt_timeout_s=5, default_timeout_s=3, claim_margin_s=5, retention_s=60, dlq_retention_s=120)
World = tuple[Clock, FakeMessages, FakeDlq, FakeQueue, MessageService]
OK = AttemptResult(status=200, body=b"ok")
BOOM = AttemptResult(status=500, header={"X-Err": ["1"]}, body=b"boom")


@pytest.fixture
def world() -> World:
    clock = Clock()
    dlq = FakeDlq()
    messages = FakeMessages(dlq=dlq)
    queue = FakeQueue()
    service = MessageService(messages, dlq, queue, LIMITS, retention_s=60, clock=clock)
    return clock, messages, dlq, queue, service


def publish(service: MessageService, headers: dict[str, str] | None = None, body: bytes = b"payload") -> Published:
    outcome = service.publish(
        PublishInput(
            path_tail="https://example.com/hook",
            raw_query="",
            headers={"content-type": "text/plain", **(headers or {})},
            body=body,
            caller_ip="1.2.3.4",
        )
    )
    assert not outcome.to_group
    return outcome.published[0]


def delivery(world: World, results: Iterable[AttemptResult]) -> tuple[DeliveryService, FakeSender]:
    clock, messages, dlq, queue, _ = world
    sender = FakeSender(list(results))
    return DeliveryService(messages, dlq, queue, sender, POLICY, signing_key=lambda: "sig_k", clock=clock), sender


def test_publish_stores_and_enqueues_with_the_delay(world):
    # Given a publish delayed by 90 s
    clock, messages, _, queue, service = world
    # When published
    request = publish(service, {"upstash-delay": "90s"})
    # Then the message is stored CREATED and its first record waits 90 s
    assert messages.statuses[request.message_id].state == MessageState.CREATED
    assert queue.sent == [(DeliveryTask(message_id=request.message_id, attempt=0), 90)]
    assert service.get(request.message_id).request.body == b"payload"


def test_a_record_that_arrives_early_is_deferred(world):
    # Given a publish delayed by 2 hours whose record arrives after 15 minutes
    clock, messages, _, queue, service = world
    request = publish(service, {"upstash-delay": "2h"})
    assert queue.sent[-1][1] == 7200
    deliver, sender = delivery(world, [OK])
    clock.advance(900)
    # Then it is sent back for the remaining time, and delivered when it is due
    assert deliver.process(DeliveryTask(message_id=request.message_id, attempt=0)) == Outcome.DEFERRED
    assert queue.sent[-1] == (DeliveryTask(message_id=request.message_id, attempt=0), 6300)
    clock.advance(6300)
    assert deliver.process(DeliveryTask(message_id=request.message_id, attempt=0)) == Outcome.DELIVERED
    assert len(sender.calls) == 1


def test_publish_is_undone_when_the_queue_is_down(world):
    _, messages, _, queue, service = world
    queue.fail = True
    with pytest.raises(ServiceUnavailableError):
        publish(service)
    assert messages.statuses == {} and len(messages.deleted) == 1


def test_unknown_ids_are_not_found(world):
    *_, service = world
    with pytest.raises(NotFoundError):
        service.get("nope")
    with pytest.raises(NotFoundError):
        service.get_dlq("nope")


def test_success_delivers_with_qstash_headers(world):
    # Given a published message and a destination that answers 200
    *_, service = world
    request = publish(service, {"upstash-forward-x-trace": "t1"})
    deliver, sender = delivery(world, [OK])
    # When its record is processed
    outcome = deliver.process(DeliveryTask(message_id=request.message_id, attempt=0))
    # Then it was sent once, as QStash sends it, and is DELIVERED
    assert outcome == Outcome.DELIVERED
    call = sender.calls[0]
    assert call["method"] == "POST" and call["url"] == "https://example.com/hook" and call["body"] == b"payload"
    assert call["headers"]["X-Trace"] == "t1"
    assert call["headers"]["Content-Type"] == "text/plain"
    assert call["headers"]["Upstash-Message-Id"] == request.message_id
    assert call["headers"]["Upstash-Retried"] == "0"
    assert call["headers"]["User-Agent"] == "Upstash-QStash"
    assert call["headers"]["Upstash-Signature"].count(".") == 2
    assert world[1].statuses[request.message_id].state == MessageState.DELIVERED


def test_failures_retry_with_backoff_then_land_in_the_dlq(world):
    # Given a message with one retry and a destination that always fails
    clock, messages, dlq, queue, service = world
    request = publish(service, {"upstash-retries": "1"})
    deliver, sender = delivery(world, [BOOM, BOOM])
    # When the first attempt fails / Then a retry is scheduled e^2.5 s later
    assert deliver.process(DeliveryTask(message_id=request.message_id, attempt=0)) == Outcome.RETRY_SCHEDULED
    status = messages.statuses[request.message_id]
    assert status.state == MessageState.RETRY and status.attempt == 1
    assert queue.sent[-1] == (DeliveryTask(message_id=request.message_id, attempt=1), 13)
    # When the retry fails too / Then the message is FAILED with a DLQ entry holding the last response
    clock.advance(13)
    assert deliver.process(DeliveryTask(message_id=request.message_id, attempt=1)) == Outcome.FAILED
    assert sender.calls[1]["headers"]["Upstash-Retried"] == "1"
    status = messages.statuses[request.message_id]
    assert status.state == MessageState.FAILED
    entry = dlq.entries[status.dlq_id]
    assert (
        entry.response.status == 500
        and entry.response.body == b"boom"
        and entry.request.message_id == request.message_id
    )


def test_a_record_for_a_finished_attempt_is_dropped(world):
    *_, service = world
    request = publish(service)
    deliver, sender = delivery(world, [OK])
    task = DeliveryTask(message_id=request.message_id, attempt=0)
    assert deliver.process(task) == Outcome.DELIVERED
    # When SQS redelivers the same record / Then nothing is sent again
    assert deliver.process(task) == Outcome.DROPPED
    assert deliver.process(DeliveryTask(message_id="unknown", attempt=0)) == Outcome.DROPPED
    assert len(sender.calls) == 1


def test_a_live_claim_is_not_taken_and_an_expired_one_is_a_failed_attempt(world):
    # Given a worker that claimed the attempt and died before recording the outcome
    clock, messages, _, queue, service = world
    request = publish(service)
    task = DeliveryTask(message_id=request.message_id, attempt=0)
    messages.claim(request.message_id, 0, clock(), clock() + 10_000)
    deliver, sender = delivery(world, [OK])
    # When its record comes back while the claim is live / Then the record is retried later
    with pytest.raises(ClaimBusyError):
        deliver.process(task)
    # When the lease has run out / Then the attempt counts as failed, with why, and the next one is scheduled
    clock.advance(11)
    assert deliver.process(task) == Outcome.RETRY_SCHEDULED
    status = messages.statuses[request.message_id]
    assert (status.state, status.attempt) == (MessageState.RETRY, 1) and "lease ran out" in (status.last_error or "")
    assert sender.calls == [] and queue.sent[-1][0] == DeliveryTask(message_id=request.message_id, attempt=1)
    # And the next attempt delivers it
    clock.advance(3600)
    assert deliver.process(DeliveryTask(message_id=request.message_id, attempt=1)) == Outcome.DELIVERED


def test_a_message_whose_outcomes_can_never_be_recorded_ends_in_the_dlq(world):
    # Given a message with one retry whose every outcome write fails (an item too large, a store refusing)
    clock, messages, dlq, _, service = world
    request = publish(service, {"upstash-retries": "1"})
    deliver, sender = delivery(world, [OK, OK, OK])

    original = messages.outcome

    def refused(transition, *args, **kwargs):
        if transition is lifecycle.DELIVER:
            raise RuntimeError("Item size has exceeded the maximum allowed size")
        return original(transition, *args, **kwargs)

    messages.outcome = refused
    # When each attempt is delivered but not recorded, and its record comes back once the lease ran out
    for attempt in (0, 1):
        task = DeliveryTask(message_id=request.message_id, attempt=attempt)
        clock.advance(86_400)
        with pytest.raises(RuntimeError):
            deliver.process(task)
        clock.advance(POLICY.attempt_timeout_s + POLICY.claim_margin_s + 1)
        deliver.process(task)
    messages.outcome = original
    # Then the lost attempts counted: the message is FAILED, in the DLQ, after its one retry (two deliveries)
    status = messages.statuses[request.message_id]
    assert status.state == MessageState.FAILED and status.dlq_id in dlq.entries
    assert len(sender.calls) == 2


def test_an_exception_in_the_sender_is_a_failed_attempt(world, monkeypatch):
    # Given a sender that raises (a header value it cannot encode, a bug)
    clock, messages, _, _, service = world
    request = publish(service, {"upstash-retries": "0"})
    deliver, sender = delivery(world, [])

    def broken(**call):
        raise UnicodeEncodeError("latin-1", "\u2603", 0, 1, "ordinal not in range(256)")

    monkeypatch.setattr(sender, "send", broken)
    # When it is attempted / Then the attempt failed with why, and the message is in the DLQ at once
    assert deliver.process(DeliveryTask(message_id=request.message_id, attempt=0)) == Outcome.FAILED
    status = messages.statuses[request.message_id]
    assert "UnicodeEncodeError" in (status.last_error or "")


def test_what_is_kept_of_an_answer_is_capped():
    huge = AttemptResult(
        status=500,
        header={f"X-{i}": ["v" * 60_000] for i in range(8)} | {"Many": ["1"] * 500},
        body=b"b" * 1_000_000,
        error="e" * 10_000,
    )
    kept = huge.capped()
    assert sum(len(n) + len(v) for n, vs in kept.header.items() for v in vs) <= MAX_RESPONSE_HEADER_BYTES
    assert len(kept.body) == MAX_RESPONSE_BODY_BYTES and len(kept.error or "") == MAX_ERROR_CHARS
    assert OK.capped() is OK


def test_a_retry_whose_enqueue_was_lost_is_enqueued_again(world):
    # Given an attempt recorded as failed (RETRY) whose next record was never sent (the worker died)
    clock, messages, _, queue, service = world
    request = publish(service)
    messages.claim(request.message_id, 0, clock(), clock() + 10_000)
    stored = messages.requests[request.message_id]
    messages.outcome(lifecycle.RETRY, stored, 0, BOOM, now_ms=clock(), next_at_ms=clock() + 12_000)
    deliver, _ = delivery(world, [])
    # When the failed attempt's record comes back / Then it enqueues the next attempt
    assert deliver.process(DeliveryTask(message_id=request.message_id, attempt=0)) == Outcome.DEFERRED
    assert queue.sent[-1] == (DeliveryTask(message_id=request.message_id, attempt=1), 12)


def test_a_lost_race_on_the_outcome_is_not_an_error(world):
    clock, messages, *_ = world
    request = publish(world[4])
    deliver, _ = delivery(world, [OK])
    original = messages.outcome

    def someone_else_finished(*args, **kwargs):
        messages.statuses[request.message_id] = messages.statuses[request.message_id].model_copy(
            update={"state": MessageState.DELIVERED}
        )
        return original(*args, **kwargs)

    messages.outcome = someone_else_finished
    assert deliver.process(DeliveryTask(message_id=request.message_id, attempt=0)) == Outcome.DROPPED


def test_the_retry_delay_expression_sets_the_backoff(world):
    clock, messages, _, queue, service = world
    request = publish(service, {"upstash-retries": "3", "upstash-retry-delay": "1000 * (retried + 2)"})
    deliver, _ = delivery(world, [BOOM, BOOM])
    deliver.process(DeliveryTask(message_id=request.message_id, attempt=0))
    assert queue.sent[-1] == (DeliveryTask(message_id=request.message_id, attempt=1), 2)  # retried = 0
    clock.advance(2)
    deliver.process(DeliveryTask(message_id=request.message_id, attempt=1))
    assert queue.sent[-1] == (DeliveryTask(message_id=request.message_id, attempt=2), 3)  # retried = 1


def test_retry_after_from_the_destination_wins(world):
    clock, messages, _, queue, service = world
    request = publish(service, {"upstash-retry-delay": "1000"})
    deliver, _ = delivery(world, [AttemptResult(status=429, header={"Retry-After": ["7"]})])
    deliver.process(DeliveryTask(message_id=request.message_id, attempt=0))
    assert queue.sent[-1] == (DeliveryTask(message_id=request.message_id, attempt=1), 7)


def test_a_non_retryable_answer_fails_at_once(world):
    clock, messages, dlq, queue, service = world
    request = publish(service, {"upstash-retries": "5"})
    stop = AttemptResult(status=489, header={"Upstash-NonRetryable-Error": ["true"]}, body=b"never")
    deliver, sender = delivery(world, [stop])
    assert deliver.process(DeliveryTask(message_id=request.message_id, attempt=0)) == Outcome.FAILED
    assert len(sender.calls) == 1 and len(dlq.entries) == 1


def test_the_message_timeout_is_used_and_capped(world):
    *_, service = world
    short = publish(service, {"upstash-timeout": "2s"})
    long = publish(service, {"upstash-timeout": "1h"})
    deliver, sender = delivery(world, [OK, OK])
    deliver.process(DeliveryTask(message_id=short.message_id, attempt=0))
    deliver.process(DeliveryTask(message_id=long.message_id, attempt=0))
    assert [c["timeout_s"] for c in sender.calls] == [2, POLICY.attempt_timeout_s]


def test_callbacks_are_messages_of_their_own(world):
    # Given a message with a callback and a failure callback, one retry, and a destination that fails
    clock, messages, dlq, queue, service = world
    request = publish(
        service,
        {
            "upstash-retries": "1",
            "upstash-callback": "https://hooks.example.com/cb",
            "upstash-callback-forward-x-cb": "1",
            "upstash-failure-callback": "https://hooks.example.com/failed",
            "upstash-failure-callback-retries": "0",
        },
    )
    deliver, sender = delivery(world, [BOOM, BOOM])
    # When both attempts fail
    deliver.process(DeliveryTask(message_id=request.message_id, attempt=0))
    clock.advance(13)
    deliver.process(DeliveryTask(message_id=request.message_id, attempt=1))
    # Then each attempt made a callback message and the final failure a failure-callback message, all enqueued
    callbacks = [r for r in messages.requests.values() if r.callback_of == request.message_id]
    assert [c.url for c in callbacks] == [
        "https://hooks.example.com/cb",
        "https://hooks.example.com/cb",
        "https://hooks.example.com/failed",
    ]
    assert callbacks[0].header == {"X-Cb": ["1"]} and callbacks[2].max_retries == 0
    enqueued = {task.message_id for task, _ in queue.sent}
    assert {c.message_id for c in callbacks} <= enqueued
    failure = json.loads(callbacks[2].body)
    assert failure["dlqId"] == messages.statuses[request.message_id].dlq_id
    assert failure["status"] == 500 and base64.b64decode(failure["body"]) == b"boom"
    assert failure["retried"] == 1 and failure["maxRetries"] == 1
    assert failure["sourceMessageId"] == request.message_id
    assert base64.b64decode(failure["sourceBody"]) == b"payload"
    # And a callback message's own delivery makes no further callbacks
    deliver2, _ = delivery(world, [OK])
    assert deliver2.process(DeliveryTask(message_id=callbacks[0].message_id, attempt=0)) == Outcome.DELIVERED
    assert not [r for r in messages.requests.values() if r.callback_of == callbacks[0].message_id]


def test_callbacks_whose_enqueue_was_lost_are_enqueued_again(world):
    clock, messages, _, queue, service = world
    request = publish(service, {"upstash-callback": "https://hooks.example.com/cb"})
    deliver, _ = delivery(world, [OK])
    task = DeliveryTask(message_id=request.message_id, attempt=0)
    deliver.process(task)
    callback_id = messages.statuses[request.message_id].follow_ups[0]
    queue.sent.clear()
    # When the delivered attempt's record comes back (its worker died before acknowledging it)
    assert deliver.process(task) == Outcome.DROPPED
    # Then its callback is enqueued again
    assert queue.sent == [(DeliveryTask(message_id=callback_id, attempt=0), 0)]


def test_cancel_a_waiting_message(world):
    clock, messages, _, queue, service = world
    request = publish(service, {"upstash-delay": "1m"})
    assert service.cancel(request.message_id) == 1
    deliver, sender = delivery(world, [OK])
    clock.advance(60)
    assert deliver.process(DeliveryTask(message_id=request.message_id, attempt=0)) == Outcome.DROPPED
    assert sender.calls == [] and messages.statuses[request.message_id].state == MessageState.CANCELED
    with pytest.raises(NotFoundError):
        service.cancel("unknown")


def test_cancel_during_an_attempt_stops_the_retries(world, monkeypatch):
    # Given an attempt in flight when the cancel arrives
    clock, messages, dlq, queue, service = world
    request = publish(service, {"upstash-retries": "3"})
    deliver, sender = delivery(world, [BOOM])
    original = sender.send

    def cancel_meanwhile(**call):
        assert service.cancel(request.message_id) == 1
        return original(**call)

    monkeypatch.setattr(sender, "send", cancel_meanwhile)
    # When the attempt fails / Then there is no retry and no DLQ entry: the message is CANCELED
    assert deliver.process(DeliveryTask(message_id=request.message_id, attempt=0)) == Outcome.CANCELED
    assert messages.statuses[request.message_id].state == MessageState.CANCELED
    assert dlq.entries == {} and [t.attempt for t, _ in queue.sent] == [0]


def test_cancel_many(world):
    *_, service = world
    ids = [publish(service, {"upstash-delay": "1h"}).message_id for _ in range(3)]
    assert service.cancel_many(ids[:2], RecordFilter()) == 2
    assert service.cancel_many(None, RecordFilter()) == 1  # all that is still pending
    assert service.cancel_many(None, RecordFilter()) == 0


def test_dedup_returns_the_first_message(world):
    _, messages, _, queue, service = world
    first = publish(service, {"upstash-deduplication-id": "order-1"})
    again = publish(service, {"upstash-deduplication-id": "order-1"})
    assert again.deduplicated and again.message_id == first.message_id
    assert len(messages.statuses) == 1 and len(queue.sent) == 1
