"""API handler: publish, message lookup, DLQ lookup, auth and bad input, against mock_aws."""

import base64
import json

import boto3
import pytest

from local_mode.frontdoor import build_event
from local_mode.lambda_context import LocalLambdaContext

DEST = "/v2/publish/https://example.com/hook"


def test_publish_stores_and_enqueues(postbox):
    # Given a publish with forwarded headers, a label and a delay
    headers = {
        "Content-Type": "application/json",
        "Upstash-Forward-X-Custom": "yes",
        "Upstash-Delay": "30s",
        "Upstash-Label": "orders",
    }
    # When it is sent
    status, body, response_headers = postbox.api("POST", f"{DEST}?a=1", body=b'{"x":1}', headers=headers)
    # Then it answers QStash's publish response and the record waits 30 s in the delivery queue
    assert status == 200, body
    assert body["url"] == "https://example.com/hook?a=1"
    assert response_headers["Content-Type"] == "application/json"
    message_id = body["messageId"]
    status, message, _ = postbox.api("GET", f"/v2/messages/{message_id}")
    assert status == 200
    assert message["messageId"] == message_id
    assert message["url"] == "https://example.com/hook?a=1"
    assert message["method"] == "POST"
    assert message["header"] == {"X-Custom": ["yes"]}
    assert message["body"] == '{"x":1}'
    assert message["maxRetries"] == 3
    assert message["notBefore"] - message["createdAt"] == 30_000
    assert message["callerIP"] == "203.0.113.7"
    assert message["label"] == "orders"
    assert postbox.receive() == []  # delayed: not visible yet


def test_binary_bodies_round_trip(postbox):
    payload = bytes(range(256))
    status, body, _ = postbox.api("POST", DEST, body=payload, headers={"Content-Type": "application/octet-stream"})
    assert status == 200
    _, message, _ = postbox.api("GET", f"/v2/messages/{body['messageId']}")
    assert base64.b64decode(message["bodyBase64"]) == payload
    assert "body" not in message


def test_token_in_query_is_accepted(postbox):
    status, _, _ = postbox.api("POST", f"{DEST}?qstash_token=integration-token", token=None)
    assert status == 200


@pytest.mark.parametrize("token", [None, "wrong"])
@pytest.mark.parametrize("route", [("POST", DEST), ("GET", "/v2/messages/x"), ("GET", "/v2/dlq/x")])
def test_every_route_needs_the_token(postbox, token, route):
    status, body, _ = postbox.api(*route, token=token)
    assert status == 401
    assert set(body) == {"error"}


@pytest.mark.parametrize("path", ["/v2/messages/unknown", "/v2/dlq/unknown", "/v2/nowhere"])
def test_unknown_ids_and_routes_are_404(postbox, path):
    status, body, _ = postbox.api("GET", path)
    assert status == 404 and set(body) == {"error"}


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v2/publish/ftp://example.com/x", {}),
        ("/v2/publish/not-a-url", {}),
        (DEST, {"Upstash-Retries": "many"}),
        (DEST, {"Upstash-Delay": "soon"}),
        (DEST, {"Upstash-Method": "BREW"}),
    ],
)
def test_bad_input_is_400_and_stores_nothing(postbox, path, headers):
    # When a publish is invalid / Then it is a 400 with {"error"} and nothing is stored or enqueued
    status, body, _ = postbox.api("POST", path, headers=headers, body=b"x")
    assert status == 400 and set(body) == {"error"}, body
    assert boto3.client("dynamodb").scan(TableName=postbox.env["MESSAGES_TABLE"])["Count"] == 0
    assert postbox.receive() == []


def test_loopback_destinations_are_refused_outside_local_mode(postbox, monkeypatch):
    monkeypatch.setenv("ALLOW_LOOPBACK_DESTINATIONS", "false")
    monkeypatch.setenv("DESTINATIONS_LOOPBACK_ONLY", "false")
    from local_mode.runtime import reset_process_caches

    reset_process_caches()
    status, body, _ = postbox.api("POST", "/v2/publish/http://127.0.0.1:9/x")
    assert status == 400 and "loopback" in body["error"]


def test_oversize_body_is_413(postbox, monkeypatch):
    monkeypatch.setenv("MAX_BODY_BYTES", "10")
    from local_mode.runtime import reset_process_caches

    reset_process_caches()
    status, body, _ = postbox.api("POST", DEST, body=b"x" * 11)
    assert status == 413 and set(body) == {"error"}


def test_a_real_api_gateway_event_is_served(postbox):
    # Given an HTTP API v2 event as API Gateway sends it for the greedy publish route
    with open("tests/events/http_api_publish.json") as f:
        event = json.load(f)
    event["headers"]["authorization"] = "Bearer integration-token"
    from functions.api.handler import lambda_handler

    # When handled / Then the destination is rebuilt from rawPath + rawQueryString
    result = lambda_handler(event, LocalLambdaContext("postbox-api"))
    assert result["statusCode"] == 200, result
    assert json.loads(result["body"])["url"] == "https://example.com/webhooks/orders?source=shop&id=42"


def test_front_door_events_match_api_gateway_shape():
    event = build_event("POST", "/v2/publish/https://e.com/x?a=1&a=2", [("X-A", "1"), ("x-a", "2")], b"hi", "1.1.1.1")
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/v2/publish/https://e.com/x"
    assert event["rawQueryString"] == "a=1&a=2"
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["headers"] == {"x-a": "1,2"}
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"hi"
    assert event["requestContext"]["http"]["sourceIp"] == "1.1.1.1"


def test_message_shows_its_delivery_options(postbox):
    headers = {
        "Upstash-Retry-Delay": "pow(2, retried) * 1000",
        "Upstash-Callback": "https://hooks.example.com/cb",
        "Upstash-Callback-Forward-X-Cb": "1",
        "Upstash-Failure-Callback": "https://hooks.example.com/failed",
    }
    _, body, _ = postbox.api("POST", DEST, headers=headers)
    _, message, _ = postbox.api("GET", f"/v2/messages/{body['messageId']}")
    assert message["retryDelayExpression"] == "pow(2, retried) * 1000"
    assert message["callback"] == "https://hooks.example.com/cb"
    assert message["callbackHeader"] == {"X-Cb": ["1"]}
    assert message["failureCallback"] == "https://hooks.example.com/failed"
    assert "failureCallbackHeader" not in message
