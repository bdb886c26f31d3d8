"""Batch and fan-out are bounded and all-or-nothing: too many entries, endpoints, ids or header bytes are a 4xx
before anything is stored, and a batch that fails part way leaves nothing that will be delivered."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from functions.composition.stores import Stores
from functions.shared.config import get_settings
from functions.stores.messages import MessageStore

if TYPE_CHECKING:
    from tests.integration.conftest import Postbox

URL = "https://example.com/hook"


def batch(entries: list[dict[str, Any]]) -> bytes:
    return json.dumps(entries).encode()


def stored_items(postbox: Postbox) -> list[dict[str, Any]]:
    messages = Stores(get_settings()).messages.store
    return [dict(item) for item in messages.client.scan(TableName=get_settings().messages_table)["Items"]]


def test_limits_are_4xx_before_anything_is_stored(postbox):
    big_headers = {f"Upstash-Forward-X-{i}": "v" * 1000 for i in range(20)}
    cases = [
        ("POST", "/v2/batch", batch([{"destination": URL, "body": str(i)} for i in range(101)]), {}),
        ("POST", "/v2/batch", batch([{"destination": URL, "headers": big_headers}]), {}),
        ("POST", "/v2/publish/https://example.com/" + "p" * 5000, b"x", {}),
        ("POST", f"/v2/publish/{URL}", b"x", {"Upstash-Label": ",".join(f"l{i}" for i in range(11))}),
        ("DELETE", "/v2/dlq", json.dumps({"dlqIds": [f"id-{i}" for i in range(101)]}).encode(), {}),
        ("DELETE", "/v2/messages", json.dumps({"messageIds": [f"id-{i}" for i in range(101)]}).encode(), {}),
    ]
    for method, path, body, headers in cases:
        status, answer, _ = postbox.api(method, path, body=body, headers=headers)
        assert status in (400, 413) and set(answer) == {"error"}, (path[:60], answer)
    assert stored_items(postbox) == []


def test_a_url_group_and_its_fan_out_are_bounded(postbox):
    endpoints = [{"url": f"https://example.com/e{i}"} for i in range(100)]
    body = json.dumps({"endpoints": endpoints}).encode()
    assert postbox.api("POST", "/v2/topics/big/endpoints", body=body)[0] == 200
    more = json.dumps({"endpoints": [{"url": "https://example.com/e100"}]}).encode()
    status, answer, _ = postbox.api("POST", "/v2/topics/big/endpoints", body=more)
    assert status == 400 and "at most 100 endpoints" in answer["error"]
    # One publish to the group is 100 messages; a batch of two such entries would be 200
    status, answer, _ = postbox.api("POST", "/v2/batch", body=batch([{"destination": "big"}, {"destination": "big"}]))
    assert status == 400 and "at most 100 messages" in answer["error"]
    assert stored_items(postbox) == []
    assert len(postbox.api("POST", "/v2/publish/big", body=b"x")[1]) == 100


@pytest.mark.parametrize("failing_call", [1, 3])
def test_a_batch_that_fails_part_way_leaves_nothing(postbox, monkeypatch, failing_call):
    # Given a store that fails on the n-th message of a batch of four, two of them with a dedup id
    calls = {"n": 0}
    original = MessageStore.create

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == failing_call + 1:
            raise RuntimeError("DynamoDB is unavailable")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MessageStore, "create", flaky)
    entries: list[dict[str, Any]] = [
        {"destination": URL, "body": "a", "headers": {"Upstash-Deduplication-Id": "dedup-a"}},
        {"destination": URL, "body": "b", "headers": {"Upstash-Deduplication-Id": "dedup-b"}},
        {"destination": URL, "body": "c"},
        {"destination": URL, "body": "d"},
    ]
    # When the batch is sent / Then it fails, and nothing stored by it is left: no message, no dedup key, no log
    status, _, _ = postbox.api("POST", "/v2/batch", body=batch(entries))
    assert status >= 500
    assert stored_items(postbox) == []
    assert postbox.api("GET", "/v2/events")[1] == {"events": []}
    assert postbox.receive() == []  # (records are sent once every message is stored)
    # And the client's retry stores all four (not taken for duplicates of what was taken back)
    monkeypatch.setattr(MessageStore, "create", original)
    status, answers, _ = postbox.api("POST", "/v2/batch", body=batch(entries))
    assert status == 200 and [a.get("deduplicated") for a in answers] == [None] * 4


def test_a_batch_whose_records_cannot_be_sent_leaves_nothing(postbox, monkeypatch):
    from functions.stores.delivery_queue import SqsDeliveryQueue

    def unreachable(self, tasks, now_ms):
        raise ConnectionError("SQS is unreachable")

    monkeypatch.setattr(SqsDeliveryQueue, "send_many", unreachable)
    status, _, _ = postbox.api("POST", "/v2/batch", body=batch([{"destination": URL, "body": "a"}] * 3))
    assert status == 503
    assert stored_items(postbox) == []
