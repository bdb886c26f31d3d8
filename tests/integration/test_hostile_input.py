"""Hostile publishers: header values that cannot be sent, and forwarded headers that would let a body smuggle a
request onto Postbox's connection, are refused at publish on every entry point; nothing is stored."""

from __future__ import annotations

import json

import pytest

from functions.composition.stores import Stores
from functions.shared.config import get_settings

URL = "https://example.com/hook"


def stored_messages(postbox) -> int:
    messages = Stores(get_settings()).messages.store
    return messages.client.scan(TableName=get_settings().messages_table, Select="COUNT")["Count"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Upstash-Forward-X-Snow", "\u2603"),  # not Latin-1: the sender cannot encode it
        ("Upstash-Forward-X-Bell", "a\x07b"),
        ("Upstash-Forward-X-Nul", "a\x00b"),
        ("Content-Type", "text/plain\r\nX-Injected: 1"),
        ("Upstash-Callback-Forward-X-Snow", "\u2603"),
        ("Upstash-Forward-Content-Length", "0"),
        ("Upstash-Forward-Transfer-Encoding", "chunked"),
        ("Upstash-Forward-Host", "internal.example"),
        ("Upstash-Forward-Connection", "keep-alive"),
        ("Upstash-Forward-Keep-Alive", "timeout=5"),
        ("Upstash-Forward-TE", "trailers"),
        ("Upstash-Forward-Trailer", "X"),
        ("Upstash-Forward-Upgrade", "websocket"),
        ("Upstash-Forward-Expect", "100-continue"),
        ("Upstash-Forward-Proxy-Authorization", "Basic x"),
        ("Upstash-Forward-Upstash-Signature", "attacker-chosen"),
        ("Upstash-Forward-Upstash_Signature", "attacker-chosen"),
        ("Upstash-Forward-Content_Length", "0"),
        ("Upstash-Callback-Forward-Upstash-Message-Id", "x"),
    ],
)
def test_an_unsendable_or_reserved_header_is_a_400_on_every_entry_point(postbox, name, value):
    headers = {name: value}
    if name.startswith("Upstash-Callback-"):
        headers["Upstash-Callback"] = "https://example.com/callback"
    batch = json.dumps([{"destination": URL, "headers": headers, "body": "x"}]).encode()
    cron = {"Upstash-Cron": "*/5 * * * *"}
    for method, path, request_headers, body in [
        ("POST", f"/v2/publish/{URL}", headers, b"x"),
        ("POST", f"/v2/enqueue/q1/{URL}", headers, b"x"),
        ("POST", "/v2/batch", {"Content-Type": "application/json"}, batch),
        ("POST", f"/v2/schedules/{URL}", {**headers, **cron}, b"x"),
    ]:
        status, answer, _ = postbox.api(method, path, headers=request_headers, body=body)
        assert status == 400 and set(answer) == {"error"}, (method, path, answer)
    assert stored_messages(postbox) == 0
    assert postbox.api("GET", "/v2/schedules")[1] == [] and postbox.api("GET", "/v2/queues")[1] == []


def test_a_horizontal_tab_and_latin_1_are_sendable(postbox):
    headers = {"Upstash-Forward-X-Tab": "a\tb", "Upstash-Forward-X-Latin": "caf\u00e9", "Upstash-Delay": "1h"}
    status, answer, _ = postbox.api("POST", f"/v2/publish/{URL}", headers=headers)
    assert status == 200, answer
    _, message, _ = postbox.api("GET", f"/v2/messages/{answer['messageId']}")
    assert message["header"] == {"X-Tab": ["a\tb"], "X-Latin": ["caf\u00e9"]}


def test_a_json_body_must_be_sent_as_json(postbox):
    # A web page can make a browser send a cross-site text/plain POST without asking; never an application/json one
    batch = json.dumps([{"destination": URL, "body": "x"}]).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        for method, path, body in (
            ("POST", "/v2/batch", batch),
            ("POST", "/v2/queues", b'{"queueName": "q"}'),
            ("DELETE", "/v2/dlq", b'{"dlqIds": ["a"]}'),
        ):
            status, answer, _ = postbox.api(method, path, body=body, headers={"Content-Type": content_type})
            assert status == 415 and "application/json" in answer["error"], (path, content_type)
    assert stored_messages(postbox) == 0 and postbox.api("GET", "/v2/queues")[1] == []
    headers = {"Content-Type": "application/json; charset=utf-8"}
    assert postbox.api("POST", "/v2/batch", body=batch, headers=headers)[0] == 200


def test_a_client_cannot_claim_a_schedules_tick(postbox):
    headers = {"Upstash-Deduplication-Id": "postbox:schedule/nightly/1800000060000"}
    status, answer, _ = postbox.api("POST", f"/v2/publish/{URL}", headers=headers)
    assert status == 400 and "Postbox's own" in answer["error"]


@pytest.mark.parametrize(
    "destination",
    [
        "http://127.0.0.1\\@example.com/",  # urllib reads example.com, the sender 127.0.0.1
        "http://ex%61mple.com/",
        "http://exämple.com/",
        "http://example.com\\.evil.test/",
    ],
)
def test_a_destination_whose_host_parsers_read_apart_is_a_400(postbox, destination):
    status, answer, _ = postbox.api("POST", f"/v2/publish/{destination}")
    assert status == 400 and set(answer) == {"error"}, answer
    assert stored_messages(postbox) == 0


def test_deeply_nested_json_is_a_400(postbox):
    for method, path in (("DELETE", "/v2/dlq"), ("POST", "/v2/batch"), ("POST", "/v2/queues")):
        status, answer, _ = postbox.api(method, path, body=b"[" * 100_000)
        assert status == 400 and set(answer) == {"error"}, (path, answer)


def test_path_ids_are_percent_decoded(postbox):
    headers = {"Upstash-Deduplication-Id": "order 7/b", "Upstash-Delay": "1h"}
    message_id = postbox.api("POST", f"/v2/publish/{URL}", headers=headers)[1]["messageId"]
    status, message, _ = postbox.api("GET", "/v2/messages/order%207%2Fb")
    assert status == 200 and message["messageId"] == message_id
    assert postbox.api("GET", "/v1/messages/order%207%2Fb")[0] == 200
