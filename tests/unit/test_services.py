"""The message and delivery services against in-memory fakes."""

import pytest

from functions.delivery.service import ClaimBusyError, DeliveryPolicy, DeliveryService, Outcome
from functions.messages.models import AttemptResult, DeliveryTask, MessageState
from functions.messages.publish import PublishLimits
from functions.messages.service import MessageService, PublishInput
from functions.shared.errors import NotFoundError, ServiceUnavailableError
from tests.fakes import Clock, FakeDlq, FakeMessages, FakeQueue, FakeSender

LIMITS = PublishLimits(default_retries=3, max_retries=10, max_body_bytes=1024, allow_loopback=False)
POLICY = DeliveryPolicy(attempt_timeout_s=5, claim_lease_s=10, retention_s=60, dlq_retention_s=120)
OK = AttemptResult(status=200, body=b"ok")
BOOM = AttemptResult(status=500, header={"X-Err": ["1"]}, body=b"boom")


@pytest.fixture
def world():
    clock = Clock()
    dlq = FakeDlq()
    messages = FakeMessages(dlq=dlq)
    queue = FakeQueue()
    service = MessageService(messages, dlq, queue, LIMITS, retention_s=60, clock=clock)
    return clock, messages, dlq, queue, service


def publish(service, headers=None, body=b"payload"):
    return service.publish(
        PublishInput(
            path_tail="https://example.com/hook",
            raw_query="",
            headers={"content-type": "text/plain", **(headers or {})},
            body=body,
            caller_ip="1.2.3.4",
        )
    )


def delivery(world, results):
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


def test_long_delays_hop_through_the_queue(world):
    # Given a publish delayed by 2 hours / Then the record waits the SQS maximum and is deferred when it comes back
    clock, messages, _, queue, service = world
    request = publish(service, {"upstash-delay": "2h"})
    assert queue.sent[-1][1] == 900
    deliver, sender = delivery(world, [OK])
    clock.advance(900)
    assert deliver.process(DeliveryTask(message_id=request.message_id, attempt=0)) == Outcome.DEFERRED
    assert queue.sent[-1] == (DeliveryTask(message_id=request.message_id, attempt=0), 900)
    clock.advance(7200 - 900)
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


def test_a_live_claim_is_not_taken_and_an_expired_one_is(world):
    # Given a worker that claimed the attempt and died before recording the outcome
    clock, messages, *_ = world
    service = world[4]
    request = publish(service)
    task = DeliveryTask(message_id=request.message_id, attempt=0)
    messages.claim(request.message_id, 0, clock(), clock() + 10_000)
    deliver, sender = delivery(world, [OK])
    # When its record comes back while the claim is live / Then the record is retried later
    with pytest.raises(ClaimBusyError):
        deliver.process(task)
    # When the claim has expired / Then another worker takes it over and delivers (a duplicate is allowed)
    clock.advance(11)
    assert deliver.process(task) == Outcome.DELIVERED
    assert len(sender.calls) == 1


def test_a_retry_whose_enqueue_was_lost_is_enqueued_again(world):
    # Given an attempt recorded as failed (RETRY) whose next record was never sent (the worker died)
    clock, messages, _, queue, service = world
    request = publish(service)
    messages.claim(request.message_id, 0, clock(), clock() + 10_000)
    messages.mark_retry(request.message_id, 0, BOOM, now_ms=clock(), next_at_ms=clock() + 12_000)
    deliver, _ = delivery(world, [])
    # When the failed attempt's record comes back / Then it enqueues the next attempt
    assert deliver.process(DeliveryTask(message_id=request.message_id, attempt=0)) == Outcome.DEFERRED
    assert queue.sent[-1] == (DeliveryTask(message_id=request.message_id, attempt=1), 12)


def test_a_lost_race_on_the_outcome_is_not_an_error(world):
    clock, messages, *_ = world
    request = publish(world[4])
    deliver, _ = delivery(world, [OK])
    original = messages.mark_delivered

    def someone_else_finished(*args, **kwargs):
        messages.statuses[request.message_id] = messages.statuses[request.message_id].model_copy(
            update={"state": MessageState.DELIVERED}
        )
        return original(*args, **kwargs)

    messages.mark_delivered = someone_else_finished
    assert deliver.process(DeliveryTask(message_id=request.message_id, attempt=0)) == Outcome.DROPPED
