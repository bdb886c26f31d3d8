"""Several labels per message, Upstash-Redact-Fields, and what a schedule keeps, through the API handler and the
worker against mock_aws, with a real destination on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import json

from pytest_httpserver import HTTPServer
from werkzeug import Response

from functions.composition.stores import Stores
from functions.shared.config import get_settings
from tests.integration.test_schedules import MINUTE, create, fire


def publish(postbox, url: str, headers: dict[str, str], body: bytes = b"payload") -> str:
    status, answer, _ = postbox.api("POST", f"/v2/publish/{url}", headers=headers, body=body)
    assert status == 200, answer
    return str(answer["messageId"])


def redacted(value: bytes) -> str:
    return "REDACTED:" + hashlib.sha256(value).hexdigest()


def test_a_message_with_two_labels(postbox, httpserver: HTTPServer):
    # Given a message published with two labels to a destination that fails
    httpserver.expect_request("/fail").respond_with_data("no", status=500)
    headers = {"Upstash-Label": "la-1, lb-1", "Upstash-Retries": "0"}
    message_id = publish(postbox, httpserver.url_for("/fail"), headers)
    # Then the message shows the first as `label` and both as `labels`
    _, message, _ = postbox.api("GET", f"/v2/messages/{message_id}")
    assert (message["label"], message["labels"]) == ("la-1", ["la-1", "lb-1"])
    # And a filter by either label finds it, pending, in the log and in the DLQ
    assert postbox.api("GET", "/v2/events?label=lb-1")[1]["events"][0]["messageId"] == message_id
    assert postbox.drain() == 1
    for label in ("la-1", "lb-1"):
        _, page, _ = postbox.api("GET", f"/v2/dlq?label={label}")
        [entry] = page["messages"]
        assert entry["messageId"] == message_id
        assert (entry["label"], entry["labels"]) == ("la-1", ["la-1", "lb-1"])
    _, log, _ = postbox.api("GET", f"/v2/logs?messageId={message_id}&label=lb-1&label=other")
    assert {e["state"] for e in log["logs"]} == {"CREATED", "ACTIVE", "FAILED"}
    assert all(e["label"] == "la-1" and e["labels"] == ["la-1", "lb-1"] for e in log["logs"])
    assert postbox.api("GET", "/v2/dlq?label=la-2")[1] == {"messages": []}


def test_redacted_fields_are_delivered_but_never_shown(postbox, httpserver: HTTPServer):
    # Given a message whose body and Authorization header are redacted, to a destination that fails
    httpserver.expect_request("/fail").respond_with_response(Response("no", status=500))
    headers = {
        "Upstash-Redact-Fields": "body, header[authorization]",
        "Upstash-Forward-Authorization": "Bearer secret-token",
        "Upstash-Forward-X-Plain": "visible",
        "Upstash-Retries": "0",
    }
    message_id = publish(postbox, httpserver.url_for("/fail"), headers, body=b"card 4242")
    shown_header = {"Authorization": [redacted(b"Bearer secret-token")], "X-Plain": ["visible"]}
    # Then the message view shows digests
    _, message, _ = postbox.api("GET", f"/v2/messages/{message_id}")
    assert message["body"] == redacted(b"card 4242") and message["header"] == shown_header
    # When it is delivered / Then the destination got the values as sent
    assert postbox.drain() == 1
    request, _ = httpserver.log[0]
    assert request.get_data() == b"card 4242" and request.headers["Authorization"] == "Bearer secret-token"
    # And neither the DLQ, nor the log, nor any answer shows them
    _, page, _ = postbox.api("GET", "/v2/dlq")
    [entry] = page["messages"]
    assert entry["body"] == redacted(b"card 4242") and entry["header"] == shown_header
    _, entry_again, _ = postbox.api("GET", f"/v2/dlq/{entry['dlqId']}")
    assert entry_again == entry
    _, log, _ = postbox.api("GET", f"/v2/events?messageId={message_id}")
    bodies = {base64.b64decode(e["body"]) for e in log["events"] if "body" in e}
    assert bodies == {redacted(b"card 4242").encode()}
    assert all(e["header"] == shown_header for e in log["events"] if "header" in e)
    answers = json.dumps([message, page, log])
    assert "secret-token" not in answers and "4242" not in answers
    # And a retry from the DLQ delivers the original values again
    assert postbox.api("POST", f"/v2/dlq/retry/{entry['dlqId']}")[0] == 201
    postbox.drain()
    request, _ = httpserver.log[1]
    assert request.get_data() == b"card 4242" and request.headers["Authorization"] == "Bearer secret-token"


def test_redacting_every_header(postbox):
    headers = {"Upstash-Redact-Fields": "headers", "Upstash-Forward-A": "1", "Upstash-Forward-B": "2"}
    message_id = publish(postbox, "https://example.com/hook", {**headers, "Upstash-Delay": "1h"})
    _, message, _ = postbox.api("GET", f"/v2/messages/{message_id}")
    assert message["header"] == {"A": [redacted(b"1")], "B": [redacted(b"2")]} and message["body"] == "payload"


def test_a_bad_redact_field_is_a_400(postbox):
    for value in ("bodies", "header[]", "cookie"):
        status, answer, _ = postbox.api(
            "POST", "/v2/publish/https://example.com/hook", headers={"Upstash-Redact-Fields": value}
        )
        assert status == 400 and "Upstash-Redact-Fields" in answer["error"], value


def test_a_schedule_keeps_flow_control_content_type_and_labels(postbox):
    # Given a schedule with flow control, a Content-Type and two labels
    headers = {
        "Upstash-Schedule-Id": "fc",
        "Upstash-Flow-Control-Key": "sched-key",
        "Upstash-Flow-Control-Value": "parallelism=10, rate=5, period=1d",
        "Content-Type": "application/json",
        "Upstash-Label": "s1,s2",
        "Authorization": "Bearer not-kept",
    }
    assert create(postbox, "https://example.com/cron", headers=headers, body=b'{"a":1}')[0] == 200
    # Then it answers them, in the list too
    _, schedule, _ = postbox.api("GET", "/v2/schedules/fc")
    assert schedule["flowControlKey"] == "sched-key"
    assert (schedule["parallelism"], schedule["rate"], schedule["period"]) == (10, 5, 86400)
    assert schedule["header"] == {"Content-Type": ["application/json"]}
    assert (schedule["label"], schedule["labels"]) == ("s1", ["s1", "s2"])
    assert postbox.api("GET", "/v2/schedules")[1] == [schedule]
    # And it keeps only the headers a publish reads (never the request's token)
    stored = Stores(get_settings()).messages.store.client.scan(TableName=get_settings().schedules_table)["Items"]
    assert "not-kept" not in json.dumps(stored, default=repr)
    # And the messages it publishes carry the flow control and the Content-Type
    assert fire("fc", MINUTE + 60_000) == {"published": 1}
    messages = Stores(get_settings()).messages.store
    [record] = postbox.receive()
    message = messages.get(json.loads(record["Body"])["messageId"], 0)
    assert message is not None and message.request.flow_control is not None
    assert message.request.flow_control.key == "sched-key" and message.request.flow_control.period_s == 86400
    assert message.request.content_type == "application/json" and message.request.labels == ("s1", "s2")


def test_a_schedule_without_a_body_has_no_body_key(postbox):
    create(postbox, "https://example.com/cron", headers={"Upstash-Schedule-Id": "nb"}, body=b"x")
    create(postbox, "https://example.com/cron", headers={"Upstash-Schedule-Id": "nb"}, body=b"")
    _, schedule, _ = postbox.api("GET", "/v2/schedules/nb")
    assert "body" not in schedule and "bodyBase64" not in schedule


def test_a_redacted_schedule_shows_digests(postbox):
    headers = {"Upstash-Schedule-Id": "rd", "Upstash-Redact-Fields": "body", "Upstash-Forward-X": "1"}
    create(postbox, "https://example.com/cron", headers=headers, body=b"secret")
    _, schedule, _ = postbox.api("GET", "/v2/schedules/rd")
    assert schedule["body"] == redacted(b"secret") and schedule["header"] == {"X": ["1"]}
