"""URL groups (topics) and batch publishing, against mock_aws, with real receivers on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from pytest_httpserver import HTTPServer

from tests.integration.conftest import Postbox


def upsert(postbox: Postbox, name: str, endpoints: list[dict[str, str]]) -> tuple[int, Any, dict[str, str]]:
    return postbox.api("POST", f"/v2/topics/{name}/endpoints", body=json.dumps({"endpoints": endpoints}).encode())


def test_url_group_lifecycle(postbox):
    # Given a group with two endpoints
    assert (
        upsert(
            postbox, "orders", [{"url": "https://a.example.com/x", "name": "a"}, {"url": "https://b.example.com/y"}]
        )[0]
        == 200
    )
    code, group, _ = postbox.api("GET", "/v2/topics/orders")
    assert code == 200 and group["name"] == "orders" and group["createdAt"] <= group["updatedAt"]
    assert group["endpoints"] == [{"name": "a", "url": "https://a.example.com/x"}, {"url": "https://b.example.com/y"}]
    # When an endpoint is upserted again by name / Then it is replaced, not added
    upsert(postbox, "orders", [{"url": "https://a2.example.com/x", "name": "a"}])
    assert [e["url"] for e in postbox.api("GET", "/v2/topics/orders")[1]["endpoints"]] == [
        "https://a2.example.com/x",
        "https://b.example.com/y",
    ]
    assert [g["name"] for g in postbox.api("GET", "/v2/topics")[1]] == ["orders"]
    # When endpoints are removed (by url, then by name) / Then the empty group is gone
    body = json.dumps({"endpoints": [{"url": "https://b.example.com/y"}]}).encode()
    assert postbox.api("DELETE", "/v2/topics/orders/endpoints", body=body)[0] == 200
    body = json.dumps({"endpoints": [{"name": "a"}]}).encode()
    assert postbox.api("DELETE", "/v2/topics/orders/endpoints", body=body)[0] == 200
    assert postbox.api("GET", "/v2/topics/orders")[0] == 404
    assert postbox.api("DELETE", "/v2/topics/never-existed")[0] == 200  # deleting a missing group is 2xx


@pytest.mark.parametrize(
    ("name", "endpoints"),
    [
        ("bad name!", [{"url": "https://a.example.com"}]),
        ("ok", []),
        ("ok", [{"url": "ftp://a.example.com"}]),
        ("ok", [{"name": "no-url"}]),
        ("ok", [{"url": "https://a.example.com", "name": "bad name"}]),
    ],
)
def test_bad_endpoints_are_400(postbox, name, endpoints):
    code, body, _ = upsert(postbox, name, endpoints)
    assert code == 400 and set(body) == {"error"}
    assert postbox.api("GET", "/v2/topics")[1] == []


def test_publishing_to_a_group_fans_out(postbox, httpserver: HTTPServer):
    # Given a group of two receivers
    httpserver.expect_request("/one").respond_with_data("ok")
    httpserver.expect_request("/two").respond_with_data("no", status=500)
    upsert(postbox, "fan", [{"url": httpserver.url_for("/one"), "name": "one"}, {"url": httpserver.url_for("/two")}])
    # When a message is published to the group's name
    code, answer, _ = postbox.api("POST", "/v2/publish/fan", body=b"hello", headers={"Upstash-Retries": "0"})
    # Then the answer is a bare list, one message per endpoint, each delivered on its own
    assert code == 200 and isinstance(answer, list)
    assert [a["url"] for a in answer] == [httpserver.url_for("/one"), httpserver.url_for("/two")]
    postbox.drain()
    assert {r.path for r, _ in httpserver.log} == {"/one", "/two"}
    assert {r.headers["Upstash-Topic-Name"] for r, _ in httpserver.log} == {"fan"}
    _, first, _ = postbox.api("GET", f"/v2/messages/{answer[0]['messageId']}")
    assert first["topicName"] == "fan" and first["endpointName"] == "one"
    # And the failed one is in the DLQ under the group's name
    _, dlq, _ = postbox.api("GET", "/v2/dlq?topicName=fan")
    assert [m["messageId"] for m in dlq["messages"]] == [answer[1]["messageId"]]
    _, events, _ = postbox.api("GET", "/v2/events?topicName=fan&state=DELIVERED")
    assert [e["messageId"] for e in events["events"]] == [answer[0]["messageId"]]


def test_publishing_to_an_unknown_group_is_400(postbox):
    code, body, _ = postbox.api("POST", "/v2/publish/nobody-home")
    assert code == 400 and "URL group" in body["error"]


def test_batch(postbox):
    upsert(postbox, "pair", [{"url": "https://a.example.com/1"}, {"url": "https://b.example.com/2"}])
    entries = [
        {"destination": "https://c.example.com/3", "headers": {"Upstash-Delay": "1m"}, "body": "x", "queue": None},
        {"destination": "pair", "headers": {}, "body": None, "queue": None},
    ]
    code, answer, _ = postbox.api("POST", "/v2/batch", body=json.dumps(entries).encode())
    assert code == 200, answer
    assert answer[0]["url"] == "https://c.example.com/3" and isinstance(answer[1], list) and len(answer[1]) == 2
    _, message, _ = postbox.api("GET", f"/v2/messages/{answer[0]['messageId']}")
    assert message["body"] == "x" and message["notBefore"] - message["createdAt"] == 60_000


@pytest.mark.parametrize(
    "entries",
    [
        [{"destination": "https://ok.example.com"}, {"destination": "ftp://bad"}],
        [
            {"destination": "https://ok.example.com"},
            {"destination": "https://e.com", "headers": {"Upstash-Retries": "x"}},
        ],
        [{"destination": "https://ok.example.com", "queue": "q"}, {"destination": "https://e.com", "queue": "bad q"}],
        [{"nope": 1}],
        {"destination": "https://ok.example.com"},
    ],
)
def test_a_bad_batch_stores_nothing(postbox, entries):
    code, body, _ = postbox.api("POST", "/v2/batch", body=json.dumps(entries).encode())
    assert code == 400 and set(body) == {"error"}, body
    assert boto3.client("dynamodb").scan(TableName=postbox.env["MESSAGES_TABLE"])["Count"] == 0


def sqs_calls() -> list[str]:
    """The SQS operations called by every client made from now on (the process's clients are made afresh per test)."""
    calls: list[str] = []
    session = boto3._get_default_session()  # noqa: SLF001 - the session Postbox's clients come from
    session.events.register("before-call.sqs", lambda model, **_: calls.append(model.name))
    return calls


def test_a_batch_sends_its_records_ten_to_a_request(postbox, httpserver: HTTPServer):
    # Given a batch of 25 publishes to a receiver
    calls = sqs_calls()
    httpserver.expect_request("/batched").respond_with_data("ok")
    entries = [{"destination": httpserver.url_for("/batched"), "body": str(n)} for n in range(25)]

    # When it is published and the queue is drained
    code, answer, _ = postbox.api("POST", "/v2/batch", body=json.dumps(entries).encode())
    sends = [c for c in calls if c.startswith("SendMessage")]
    while postbox.drain():
        pass

    # Then its 25 records went to SQS in 3 requests, and every message arrived
    assert code == 200 and len(answer) == 25
    assert sends == ["SendMessageBatch"] * 3
    assert sorted(int(r.get_data()) for r, _ in httpserver.log) == list(range(25))


def test_records_that_cannot_be_sent_are_reported(postbox):
    # Given the adapter pointed at a queue that does not exist
    from functions.core.models import DeliveryTask
    from functions.stores.delivery_queue import SqsDeliveryQueue

    queue = SqsDeliveryQueue(postbox.env["DELIVERY_QUEUE_URL"] + "-missing")
    tasks = [(DeliveryTask(message_id=f"m{n}", attempt=0), 0) for n in range(12)]

    # When 12 records are sent / Then all 12 come back as not sent (two failed requests), none raised
    assert [task.message_id for task in queue.send_many(tasks, now_ms=0)] == [f"m{n}" for n in range(12)]
