"""The write order of a publish and of a late log entry, crashed between any two writes: nothing is lost, and
nothing appears that did not happen. (A worker killed between the HTTP call and its outcome: test_crash_recovery.)"""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from pytest_httpserver import HTTPServer

from functions.shared import aws
from functions.shared.clock import now_ms
from functions.shared.dynamo import from_item, to_item
from functions.shared.ids import uuid7
from functions.shared.shards import shard_key
from functions.stores.message_items import LATE, TTL


class Crash(Exception):
    """The process died here: the call never reached DynamoDB."""


def crash_on(operation: str, when: Any) -> Any:
    """A botocore hook that fails the calls `when` selects, before they are sent."""

    def hook(params: dict[str, Any], **_: Any) -> None:
        if when(params):
            raise Crash(operation)

    aws.dynamodb().meta.events.register(f"provide-client-params.dynamodb.{operation}", hook)
    return hook


def items() -> list[dict[str, Any]]:
    table = boto3.client("dynamodb").scan(TableName=_table())["Items"]
    return [from_item(item) for item in table]


def _table() -> str:
    from functions.shared.config import get_settings

    return get_settings().messages_table


def test_a_publish_that_dies_between_its_two_writes_leaves_no_message(postbox, httpserver: HTTPServer) -> None:
    # Given a publish whose second write (the state item, which makes the message exist) never happens
    hook = crash_on("PutItem", lambda params: str(params["Item"]["pk"]["S"]).startswith("state#"))
    try:
        status, answer, _ = postbox.api("POST", f"/v2/publish/{httpserver.url_for('/x')}", body=b"hi")
        assert status == 500 and set(answer) == {"error"}  # the client gets no message id
    finally:
        aws.dynamodb().meta.events.unregister("provide-client-params.dynamodb.PutItem", hook)
    # Then there is no message: nothing pending, nothing logged, no delivery record; the request item it left
    # expires by its TTL
    assert postbox.api("GET", "/v2/events")[1]["events"] == []
    assert postbox.api("DELETE", "/v2/messages")[1] == {"cancelled": 0}
    assert postbox.receive() == []
    (orphan,) = items()
    assert orphan["sk"] == "request" and int(orphan[TTL]) > now_ms() // 1000
    # And the client's publish again (it got no answer) stores and delivers the message
    httpserver.expect_request("/x").respond_with_data("ok")
    status, published, _ = postbox.api("POST", f"/v2/publish/{httpserver.url_for('/x')}", body=b"hi")
    assert status == 200
    postbox.drain()
    assert postbox.api("GET", f"/v2/messages/{published['messageId']}")[0] == 200
    assert len(httpserver.log) == 1


def test_a_late_entry_that_died_after_its_marker_adds_nothing_to_the_log(postbox, httpserver: HTTPServer) -> None:
    # Given a delivered message, and the marker of a later entry of it that was never written (the update after it
    # failed)
    httpserver.expect_request("/y").respond_with_data("ok")
    _, published, _ = postbox.api("POST", f"/v2/publish/{httpserver.url_for('/y')}", body=b"hi")
    postbox.drain()
    before = postbox.api("GET", "/v2/events")[1]
    message_id = published["messageId"]
    late = uuid7(now_ms() + 60_000)
    marker = {"pk": shard_key(LATE, message_id), "sk": late, "messageId": message_id, TTL: 4_000_000_000}
    boto3.client("dynamodb").put_item(TableName=_table(), Item=to_item(marker))
    # Then the log is what it was, newest or oldest first
    assert postbox.api("GET", "/v2/events")[1] == before
    oldest = postbox.api("GET", "/v2/events?order=earliestFirst")[1]["events"]
    assert [e["state"] for e in oldest] == ["CREATED", "ACTIVE", "DELIVERED"]


def test_an_entry_made_long_after_its_message_is_marked_first_and_listed(
    postbox, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given entries count as late half a second after their message's creation, and a message delayed by a second
    from functions.events import repository as log_reader
    from functions.stores import moves as writer

    monkeypatch.setattr(writer, "LATE_AFTER_MS", 500)
    monkeypatch.setattr(log_reader, "LATE_AFTER_MS", 500)
    httpserver.expect_request("/z").respond_with_data("ok")
    headers = {"Upstash-Delay": "1s"}
    _, published, _ = postbox.api("POST", f"/v2/publish/{httpserver.url_for('/z')}", body=b"hi", headers=headers)
    message_id = published["messageId"]
    # When the claim's marker cannot be written, the claim is not made either (the marker goes first)
    hook = crash_on("PutItem", lambda params: str(params["Item"]["pk"]["S"]).startswith("late#"))
    try:
        time.sleep(1.1)
        answer = postbox.run_worker(postbox.receive())
        assert len(answer["batchItemFailures"]) == 1
        entries = postbox.api("GET", f"/v2/events?messageId={message_id}")[1]["events"]
        assert [e["state"] for e in entries] == ["CREATED"]
    finally:
        aws.dynamodb().meta.events.unregister("provide-client-params.dynamodb.PutItem", hook)
    # Then once it can be, the record comes back, each late entry is marked, and the log across messages lists the
    # entries through their markers, in either order
    postbox.drain()
    oldest = postbox.api("GET", "/v2/events?order=earliestFirst")[1]["events"]
    newest = postbox.api("GET", "/v2/events")[1]["events"]
    assert [e["state"] for e in oldest] == ["CREATED", "ACTIVE", "DELIVERED"] == [e["state"] for e in newest][::-1]
    assert len([item for item in items() if str(item["pk"]).startswith("late#")]) == 2
    assert len(httpserver.log) == 1
