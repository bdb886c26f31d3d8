"""QStash delivery behaviours end to end: delays, Scheduler, retries, callbacks, DLQ replay, dedup, cancel."""

from __future__ import annotations

import base64
import json
import threading
import time

import boto3
import pytest
import requests
from pytest_httpserver import HTTPServer
from qstash import QStash, Receiver
from qstash.errors import SignatureError
from werkzeug import Request, Response

from local_mode.runtime import LocalMode
from tests.e2e.conftest import message_status, one_url, wait_until


def client(local: LocalMode) -> QStash:
    return QStash(local.token, base_url=local.url, retry=False)


class Receiver200:
    """Records each request with its arrival time; answers `status` (changeable while the test runs)."""

    def __init__(self, status: int = 200, body: str = "ok") -> None:
        self.status, self.body = status, body
        self.seen: list[tuple[float, Request, bytes]] = []

    def __call__(self, request: Request) -> Response:
        self.seen.append((time.time(), request, request.get_data()))
        return Response(self.body, status=self.status, headers={"X-Receiver": "yes"})


def test_a_2_second_delay_arrives_on_time(local, httpserver: HTTPServer):
    receiver = Receiver200()
    httpserver.expect_request("/delayed").respond_with_handler(receiver)
    started = time.time()
    client(local).message.publish(url=httpserver.url_for("/delayed"), body="later", delay="2s")
    published = time.time()
    wait_until(lambda: receiver.seen, timeout=10, what="the delayed delivery")
    arrived = receiver.seen[0][0]
    assert arrived - started >= 2.0 and arrived - published <= 3.0, (arrived - started, arrived - published)


def test_a_20_minute_delay_waits_in_scheduler(local, httpserver: HTTPServer):
    # Given a message delayed by 20 minutes
    published = one_url(client(local).message.publish(url=httpserver.url_for("/much-later"), body="x", delay="20m"))
    message = client(local).message.get(published.message_id)
    scheduler = boto3.client("scheduler", endpoint_url=local.backend.endpoint)
    group = local.backend.env["SCHEDULE_GROUP"]
    # Then it waits as one one-time schedule, firing in the minute it is due, SQS delaying the rest
    [summary] = scheduler.list_schedules(GroupName=group)["Schedules"]
    schedule = scheduler.get_schedule(Name=summary["Name"], GroupName=group)
    target_input = json.loads(schedule["Target"]["Input"])
    fire_ms = message.not_before - message.not_before % 60_000
    assert schedule["ScheduleExpression"] == time.strftime("at(%Y-%m-%dT%H:%M:%S)", time.gmtime(fire_ms / 1000))
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert target_input["DelaySeconds"] == -(-(message.not_before - fire_ms) // 1000)
    assert json.loads(target_input["MessageBody"]) == {"messageId": published.message_id, "attempt": 0}
    # When the local scheduler's clock reaches that minute
    sqs = boto3.client("sqs", endpoint_url=local.backend.endpoint)
    queue_url = local.backend.env["DELIVERY_QUEUE_URL"]
    local.scheduler.advance(20 * 60)
    wait_until(lambda: not scheduler.list_schedules(GroupName=group)["Schedules"], timeout=10, what="the firing")
    # Then the record sits in SQS with the remaining delay, and the schedule is gone
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    delayed = int(attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"])
    assert delayed == (1 if target_input["DelaySeconds"] > 2 else delayed)
    client(local).message.cancel(published.message_id)


def test_retries_follow_the_retry_delay_then_the_dlq_then_a_replay(local, httpserver: HTTPServer):
    # Given a receiver failing with 500
    receiver = Receiver200(status=500, body="down for maintenance")
    httpserver.expect_request("/flaky").respond_with_handler(receiver)
    # When a message with 2 retries, 1 s apart, is published to it
    published = one_url(
        client(local).message.publish(url=httpserver.url_for("/flaky"), body="important", retries=2, retry_delay="1000")
    )
    # Then it is attempted exactly 3 times, about a second apart, and lands in the DLQ
    status = wait_until(
        lambda: (s := message_status(published.message_id)) and s.state == "FAILED" and s, timeout=20, what="FAILED"
    )
    times = [t for t, _, _ in receiver.seen]
    assert len(times) == 3
    assert all(0.9 <= b - a <= 2.5 for a, b in zip(times, times[1:], strict=False)), times
    assert [r.headers["Upstash-Retried"] for _, r, _ in receiver.seen] == ["0", "1", "2"]
    entry = client(local).dlq.get(status.dlq_id)
    assert entry.response_status == 500 and entry.response_body == "down for maintenance"
    assert entry.retry_delay_expression is None or entry.retry_delay_expression == "1000"
    listed = client(local).dlq.list(filter={"message_id": published.message_id})
    assert [m.dlq_id for m in listed.messages] == [status.dlq_id]
    # When the receiver recovers and the entry is retried
    receiver.status = 200
    answer = requests.post(
        f"{local.url}/v2/dlq/retry/{status.dlq_id}", headers={"Authorization": f"Bearer {local.token}"}, timeout=5
    )
    assert answer.status_code == 201
    replay_id = answer.json()["messageId"]
    # Then it is delivered, the entry is gone
    wait_until(lambda: message_status(replay_id).state == "DELIVERED", timeout=10, what="the replay")
    assert receiver.seen[-1][2] == b"important"
    assert (
        requests.get(
            f"{local.url}/v2/dlq/{status.dlq_id}", headers={"Authorization": f"Bearer {local.token}"}, timeout=5
        ).status_code
        == 404
    )


def test_every_delivery_is_signed_for_the_sdk_receiver(local, httpserver: HTTPServer):
    receiver = Receiver200()
    httpserver.expect_request("/signed").respond_with_handler(receiver)
    url = httpserver.url_for("/signed")
    for i in range(3):
        client(local).message.publish(url=url, body=f"body {i}")
    wait_until(lambda: len(receiver.seen) == 3, what="3 deliveries")
    verify = Receiver(local.signing_keys["current"], local.signing_keys["next"])
    for _, request, data in receiver.seen:
        verify.verify(signature=request.headers["Upstash-Signature"], body=data.decode(), url=url)
        with pytest.raises(SignatureError):  # a tampered body fails
            verify.verify(signature=request.headers["Upstash-Signature"], body=data.decode() + "!", url=url)


def test_callback_and_failure_callback_payloads(local, httpserver: HTTPServer):
    # Given a destination that fails, a callback and a failure callback
    destination, callback, failure = Receiver200(status=503, body="nope"), Receiver200(), Receiver200()
    httpserver.expect_request("/fails").respond_with_handler(destination)
    httpserver.expect_request("/callback").respond_with_handler(callback)
    httpserver.expect_request("/failure").respond_with_handler(failure)
    # When a message with one retry is published with callback headers
    published = one_url(
        client(local).message.publish(
            url=httpserver.url_for("/fails"),
            body='{"order": 7}',
            content_type="application/json",
            headers={"X-Order": "7"},
            retries=1,
            retry_delay="500",
            callback=httpserver.url_for("/callback"),
            failure_callback=httpserver.url_for("/failure"),
            callback_headers={"X-Cb": "yes"},
        )
    )
    status = wait_until(
        lambda: (s := message_status(published.message_id)) and s.state == "FAILED" and s, timeout=20, what="FAILED"
    )
    wait_until(lambda: len(callback.seen) == 2 and len(failure.seen) == 1, timeout=20, what="the callbacks")
    # Then each attempt produced a callback with QStash's payload, field by field
    message = client(local).message.get(published.message_id)
    for retried, (_, request, data) in enumerate(sorted(callback.seen, key=lambda s: json.loads(s[2])["retried"])):
        payload = json.loads(data)
        assert set(payload) == {
            "status", "header", "body", "retried", "maxRetries", "sourceMessageId", "topicName", "endpointName",
            "url", "method", "sourceHeader", "sourceBody", "notBefore", "createdAt", "scheduleId", "callerIP",
        }  # fmt: skip
        assert payload["status"] == 503
        assert payload["header"]["X-Receiver"] == ["yes"]
        assert base64.b64decode(payload["body"]) == b"nope"
        assert payload["retried"] == retried and payload["maxRetries"] == 1
        assert payload["sourceMessageId"] == published.message_id
        assert payload["url"] == httpserver.url_for("/fails") and payload["method"] == "POST"
        assert payload["sourceHeader"] == {"X-Order": ["7"]}
        assert base64.b64decode(payload["sourceBody"]) == b'{"order": 7}'
        assert payload["notBefore"] == str(message.not_before) and payload["createdAt"] == str(message.created_at)
        assert payload["callerIP"] == "127.0.0.1"
        assert request.headers["X-Cb"] == "yes"
        assert request.headers["Content-Type"] == "application/json"
        Receiver(local.signing_keys["current"], local.signing_keys["next"]).verify(
            signature=request.headers["Upstash-Signature"], body=data.decode(), url=httpserver.url_for("/callback")
        )
    # And the failure callback came once, with the DLQ id
    failure_payload = json.loads(failure.seen[0][2])
    assert failure_payload["dlqId"] == status.dlq_id
    assert failure_payload["retried"] == 1 and failure_payload["status"] == 503


def test_50_concurrent_publishes_with_one_dedup_id(local, httpserver: HTTPServer):
    receiver = Receiver200()
    httpserver.expect_request("/once").respond_with_handler(receiver)
    answers: list[tuple[int, dict[str, object]]] = []
    barrier = threading.Barrier(50)

    def publish() -> None:
        barrier.wait()
        response = requests.post(
            f"{local.url}/v2/publish/{httpserver.url_for('/once')}",
            headers={"Authorization": f"Bearer {local.token}", "Upstash-Deduplication-Id": "invoice-9"},
            data=b"pay once",
            timeout=30,
        )
        answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=publish) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 50 and len({a["messageId"] for _, a in answers}) == 1
    assert sorted(code for code, _ in answers) == [200] + [202] * 49
    wait_until(lambda: receiver.seen, what="the delivery")
    time.sleep(1.5)
    assert len(receiver.seen) == 1


def test_cancel_all_cancels_every_pending_message(local, httpserver: HTTPServer):
    receiver = Receiver200()
    httpserver.expect_request("/never").respond_with_handler(receiver)
    ids = [
        one_url(client(local).message.publish(url=httpserver.url_for("/never"), body="no", delay=2)).message_id
        for _ in range(5)
    ]
    assert client(local).message.cancel_all() >= 5
    time.sleep(4)
    assert receiver.seen == []
    assert {message_status(i).state for i in ids} == {"CANCELED"}


def test_signing_key_rotation_is_seen_by_the_worker(local, httpserver: HTTPServer):
    receiver = Receiver200()
    httpserver.expect_request("/rotated").respond_with_handler(receiver)
    keys = client(local).signing_key.rotate()
    try:
        assert keys.current == local.signing_keys["next"]
        time.sleep(5.5)  # the worker's secret cache lasts 5 s in local mode
        client(local).message.publish(url=httpserver.url_for("/rotated"), body="new key")
        wait_until(lambda: receiver.seen, what="the delivery")
        _, request, data = receiver.seen[0]
        Receiver(keys.current, keys.next).verify(
            signature=request.headers["Upstash-Signature"], body=data.decode(), url=httpserver.url_for("/rotated")
        )
    finally:
        boto3.client("secretsmanager", endpoint_url=local.backend.endpoint).put_secret_value(
            SecretId=local.backend.env["SIGNING_KEYS_SECRET_ID"], SecretString=json.dumps(local.signing_keys)
        )


def test_the_sdk_dlq_cancel_and_key_methods(local, httpserver: HTTPServer):
    httpserver.expect_request("/404").respond_with_data("404 Not Found", status=404)
    sdk = client(local)
    ids = [
        one_url(sdk.message.publish(url=httpserver.url_for("/404"), body=f"{i}", retries=0)).message_id
        for i in range(3)
    ]
    wait_until(lambda: all((s := message_status(i)) and s.state == "FAILED" for i in ids), what="3 FAILED")
    # dlq.list / get / delete / delete_many as the SDK calls them
    listed = sdk.dlq.list()
    mine = [m for m in listed.messages if m.message_id in ids]
    assert len(mine) == 3 and all(m.response_body == "404 Not Found" for m in mine)
    assert sdk.dlq.list(filter={"message_id": ids[0]}, count=1).messages[0].message_id == ids[0]
    sdk.dlq.delete(mine[0].dlq_id)
    assert sdk.dlq.delete_many([m.dlq_id for m in mine[1:]]) == 2
    # cancel_many with ids, keys get
    pending = [
        one_url(sdk.message.publish(url=httpserver.url_for("/404"), body="x", delay="1h")).message_id for _ in range(2)
    ]
    assert sdk.message.cancel_many(pending) == 2
    assert sdk.signing_key.get().current == local.signing_keys["current"]


def test_the_sdk_url_group_and_batch_methods(local, httpserver: HTTPServer):
    one, two = Receiver200(), Receiver200()
    httpserver.expect_request("/g1").respond_with_handler(one)
    httpserver.expect_request("/g2").respond_with_handler(two)
    sdk = client(local)
    sdk.url_group.delete("sdk-group")  # deleting a missing group is fine
    sdk.url_group.upsert_endpoints(
        url_group="sdk-group",
        endpoints=[{"url": httpserver.url_for("/g1"), "name": "first"}, {"url": httpserver.url_for("/g2")}],
    )
    group = sdk.url_group.get("sdk-group")
    assert group.name == "sdk-group" and [e.url for e in group.endpoints] == [
        httpserver.url_for("/g1"),
        httpserver.url_for("/g2"),
    ]
    assert "sdk-group" in [g.name for g in sdk.url_group.list()]
    fanned = sdk.message.publish_json(url_group="sdk-group", body={"n": 1})
    assert isinstance(fanned, list) and len(fanned) == 2
    wait_until(lambda: one.seen and two.seen, what="both endpoints")
    assert one.seen[0][1].headers["Upstash-Topic-Name"] == "sdk-group"
    # batch: one URL, one group
    from qstash.message import BatchJsonRequest

    answers = sdk.message.batch_json(
        [
            BatchJsonRequest(url=httpserver.url_for("/g1"), body={"b": 1}),
            BatchJsonRequest(url_group="sdk-group", body={"b": 2}),
        ]
    )
    assert len(answers) == 2 and isinstance(answers[1], list) and len(answers[1]) == 2
    from qstash.message import BatchRequest, BatchResponse

    [plain] = sdk.message.batch([BatchRequest(url=httpserver.url_for("/g1"), body="plain")])
    assert isinstance(plain, BatchResponse) and plain.message_id
    wait_until(lambda: len(one.seen) == 4 and len(two.seen) == 2, what="the batch deliveries")
    sdk.url_group.remove_endpoints(url_group="sdk-group", endpoints=[{"url": httpserver.url_for("/g2")}])
    assert [e.url for e in sdk.url_group.get("sdk-group").endpoints] == [httpserver.url_for("/g1")]
    sdk.url_group.delete("sdk-group")
    assert "sdk-group" not in [g.name for g in sdk.url_group.list()]


def test_the_sdk_queue_methods(local, httpserver: HTTPServer):
    receiver = Receiver200()
    httpserver.expect_request("/queued").respond_with_handler(receiver)
    sdk = client(local)
    sdk.queue.upsert("sdk-queue", parallelism=2)
    assert sdk.queue.get("sdk-queue").parallelism == 2
    sdk.queue.upsert("sdk-queue", parallelism=1)
    queue = sdk.queue.get("sdk-queue")
    assert (queue.parallelism, queue.paused, queue.lag) == (1, False, 0)
    sdk.queue.pause("sdk-queue")
    assert sdk.queue.get("sdk-queue").paused is True
    for n in range(4):
        sdk.message.enqueue(queue="sdk-queue", url=httpserver.url_for("/queued"), body=str(n))
    sdk.message.enqueue_json(queue="sdk-queue", url=httpserver.url_for("/queued"), body=4)
    time.sleep(1)
    assert receiver.seen == [] and sdk.queue.get("sdk-queue").lag == 5
    sdk.queue.resume("sdk-queue")
    wait_until(lambda: len(receiver.seen) == 5, what="the queued deliveries")
    assert [data for _, _, data in receiver.seen] == [b"0", b"1", b"2", b"3", b"4"]
    assert "sdk-queue" in [q.name for q in sdk.queue.list()]
    sdk.queue.delete("sdk-queue")
    assert "sdk-queue" not in [q.name for q in sdk.queue.list()]


def test_a_cron_schedule_fires_once_per_minute_of_the_local_scheduler(local, httpserver: HTTPServer):
    receiver = Receiver200()
    httpserver.expect_request("/cron").respond_with_handler(receiver)
    sdk = client(local)
    local.scheduler.freeze()  # the loop's clock moves only when the test advances it
    schedule_id = sdk.schedule.create(
        destination=httpserver.url_for("/cron"), cron="*/1 * * * *", body="tick", retries=1, label="cron"
    )
    schedule = sdk.schedule.get(schedule_id)
    assert schedule.cron == "*/1 * * * *" and schedule.retries == 1 and schedule.paused is False
    assert schedule_id in [s.schedule_id for s in sdk.schedule.list()]
    try:
        # The loop's current minute may fire once (a tick since the schedule was created): that is the baseline
        time.sleep(2)
        baseline = len(receiver.seen)
        assert baseline <= 1
        # Then each minute of the local scheduler's clock fires it once
        for minute in range(1, 4):
            local.scheduler.advance(60)

            def fired(m: int = minute) -> bool:
                return len(receiver.seen) >= baseline + m

            wait_until(fired, timeout=10, what=f"firing {minute}")
            time.sleep(1.5)  # the loop runs every second: the same minute must not fire twice
            assert len(receiver.seen) == baseline + minute
        assert {r.headers["Upstash-Schedule-Id"] for _, r, _ in receiver.seen} == {schedule_id}
        wait_until(
            lambda: (
                [s.value for s in (sdk.schedule.get(schedule_id).last_schedule_states or {}).values()] == ["SUCCESS"]
            ),
            what="SUCCESS in lastScheduleStates",
        )
        # Paused, it fires no more; resumed, it fires again
        sdk.schedule.pause(schedule_id)
        assert sdk.schedule.get(schedule_id).paused is True
        local.scheduler.advance(60)
        time.sleep(2)
        assert len(receiver.seen) == baseline + 3
        sdk.schedule.resume(schedule_id)
        local.scheduler.advance(60)
        wait_until(lambda: len(receiver.seen) == baseline + 4, timeout=10, what="the firing after resume")
    finally:
        local.scheduler.frozen_ms = None  # the clock runs again for the tests that follow
    sdk.schedule.delete(schedule_id)
    assert schedule_id not in [s.schedule_id for s in sdk.schedule.list()]


def test_the_async_sdk(local, httpserver: HTTPServer):
    import asyncio

    from qstash import AsyncQStash

    receiver = Receiver200()
    httpserver.expect_request("/async").respond_with_handler(receiver)

    async def scenario() -> None:
        sdk = AsyncQStash(local.token, base_url=local.url, retry=False)
        published = one_url(
            await sdk.message.publish_json(url=httpserver.url_for("/async"), body={"a": 1}, label="async")
        )
        message = await sdk.message.get(published.message_id)
        assert message.label == "async"
        await sdk.queue.upsert("async-queue", parallelism=1)
        await sdk.message.enqueue_json(queue="async-queue", url=httpserver.url_for("/async"), body={"q": 1})
        assert (await sdk.queue.get("async-queue")).name == "async-queue"
        schedule_id = await sdk.schedule.create(destination=httpserver.url_for("/async"), cron="0 0 1 1 *")
        assert (await sdk.schedule.get(schedule_id)).cron == "0 0 1 1 *"
        await sdk.schedule.delete(schedule_id)
        await sdk.url_group.upsert_endpoints(url_group="async-group", endpoints=[{"url": httpserver.url_for("/async")}])
        fanned = await sdk.message.publish(url_group="async-group", body="g")
        assert isinstance(fanned, list) and len(fanned) == 1
        keys = await sdk.signing_key.get()
        assert keys.current == local.signing_keys["current"]
        assert (await sdk.dlq.list()).messages is not None
        await sdk.queue.delete("async-queue")
        await sdk.url_group.delete("async-group")

    asyncio.run(scenario())
    wait_until(lambda: len(receiver.seen) == 3, what="3 async deliveries")
