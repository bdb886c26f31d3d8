"""The event log, the /v1 message view, lookup by dedup key, request ids and rate limits, against mock_aws."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import boto3
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from local_mode.runtime import reset_process_caches
from tests.integration.conftest import Postbox

DEST = "/v2/publish/https://example.com/hook"


def answers(*statuses: int) -> Callable[[Request], Response]:
    """A destination handler answering the given statuses in turn (the last one repeats)."""
    remaining = list(statuses)

    def handler(request: Request) -> Response:
        status = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return Response(f"status {status}", status=status)

    return handler


def deliver_until_done(postbox: Postbox, rounds: int = 10) -> None:
    for _ in range(rounds):
        if not postbox.drain():
            return


def test_two_failures_then_success_are_logged_and_shown_in_v1(postbox, httpserver: HTTPServer):
    # Given a destination failing twice, then answering 200
    httpserver.expect_request("/flaky").respond_with_handler(answers(500, 503, 200))
    body = b'{"order": 1}'
    code, published, _ = postbox.api(
        "POST",
        f"/v2/publish/{httpserver.url_for('/flaky')}",
        body=body,
        headers={"Upstash-Retry-Delay": "0", "Content-Type": "application/json"},
    )
    message_id = published["messageId"]
    # When the worker runs until it is done
    deliver_until_done(postbox)
    # Then the log holds exactly the transitions, oldest first
    code, log, _ = postbox.api("GET", f"/v2/events?messageId={message_id}&order=earliestFirst")
    assert code == 200
    states = [entry["state"] for entry in log["events"]]
    assert states == ["CREATED", "ACTIVE", "RETRY", "ACTIVE", "RETRY", "ACTIVE", "DELIVERED"]
    retries = [e for e in log["events"] if e["state"] == "RETRY"]
    assert [e["responseStatus"] for e in retries] == [500, 503]
    assert all(e["nextDeliveryTime"] >= e["time"] for e in retries)
    assert all(e["retryDelayExpr"] == "0" and e["retryDelayExpression"] == "0" for e in retries)
    assert all(e["url"] == httpserver.url_for("/flaky") for e in log["events"])
    assert all(e["method"] == "POST" and e["maxRetries"] == 3 for e in log["events"])
    # And /v1 shows the lifecycle in seed 003's shape
    code, v1, headers = postbox.api("GET", f"/v1/messages/{message_id}")
    data = v1["data"]
    assert code == 200 and v1["meta"]["request_id"] == headers["X-Request-Id"]
    assert data["id"] == message_id and data["status"] == "succeeded"
    assert data["attempt_count"] == 3 and data["replay_count"] == 0
    assert data["response_status"] == 200 and isinstance(data["response_latency_ms"], int)
    assert data["payload_sha256"] == hashlib.sha256(body).hexdigest() and data["size_bytes"] == len(body)
    assert data["content_type"] == "application/json" and data["project_id"] == "proj_postbox"
    assert data["endpoint_id"].startswith("ep_")
    assert data["created_at"].endswith("Z") and data["updated_at"] >= data["created_at"]
    assert set(data) <= {
        "id", "project_id", "endpoint_id", "status", "attempt_count", "replay_count", "content_type", "size_bytes",
        "payload_sha256", "idempotency_key", "next_attempt_at", "last_error", "response_status",
        "response_latency_ms", "created_at", "updated_at",
    }  # fmt: skip


def test_the_log_shows_bodies_it_does_not_copy(postbox, httpserver: HTTPServer):
    # Given a small and a large (over 4 KB) message, each delivered after one failure
    small, large = b"small body", b"x" * 5000
    ids = []
    for path, body in (("/small", small), ("/large", large)):
        httpserver.expect_request(path).respond_with_handler(answers(500, 200))
        _, published, _ = postbox.api(
            "POST", f"/v2/publish/{httpserver.url_for(path)}", body=body, headers={"Upstash-Retry-Delay": "0"}
        )
        ids.append(published["messageId"])
    deliver_until_done(postbox)

    # When their logs are listed
    _, log, _ = postbox.api("GET", f"/v2/events?messageIds={ids[0]}&messageIds={ids[1]}&order=earliestFirst")

    # Then the small one's CREATED, RETRY and DELIVERED entries show its body (ACTIVE shows none), the large one's
    # none (as QStash, bodies over 4 KB are not logged)
    shown = {(e["messageId"], e["state"]): e.get("body") for e in log["events"]}
    encoded = base64.b64encode(small).decode()
    assert {state: body for (mid, state), body in shown.items() if mid == ids[0]} == {
        "CREATED": encoded, "ACTIVE": None, "RETRY": encoded, "DELIVERED": encoded,
    }  # fmt: skip
    assert all(body is None for (mid, _), body in shown.items() if mid == ids[1])
    # And no log entry holds a copy of a body: the log reads it from the message's request item
    items = boto3.client("dynamodb").scan(TableName=postbox.env["MESSAGES_TABLE"])["Items"]
    entries = [entry["M"] for item in items for entry in item.get("log", {}).get("L", [])]
    assert len(entries) == 10 and not any("body" in entry for entry in entries)


def test_v1_shows_a_pending_retry(postbox, httpserver: HTTPServer):
    httpserver.expect_request("/down").respond_with_data("no", status=500)
    _, published, _ = postbox.api("POST", f"/v2/publish/{httpserver.url_for('/down')}")
    postbox.drain()
    _, v1, _ = postbox.api("GET", f"/v1/messages/{published['messageId']}")
    assert v1["data"]["status"] == "pending_retry" and v1["data"]["attempt_count"] == 1
    assert v1["data"]["next_attempt_at"].endswith("Z") and v1["data"]["last_error"] == "destination answered 500"


def test_log_filters_and_paging(postbox):
    ids = [postbox.api("POST", DEST, headers={"Upstash-Label": f"l{i % 2}"})[1]["messageId"] for i in range(5)]
    postbox.api("DELETE", f"/v2/messages/{ids[0]}")
    _, cancelled, _ = postbox.api("GET", "/v2/events?state=CANCELLED")
    assert [(e["messageId"], e["state"]) for e in cancelled["events"]] == [(ids[0], "CANCELED")]
    _, labelled, _ = postbox.api("GET", "/v2/events?label=l1&state=CREATED")
    assert sorted(e["messageId"] for e in labelled["events"]) == sorted(ids[1::2])
    _, several, _ = postbox.api("GET", f"/v2/events?messageIds={ids[1]}&messageIds={ids[2]}")
    assert {e["messageId"] for e in several["events"]} == {ids[1], ids[2]}
    # paging: 6 events (5 CREATED + 1 CANCELED), 4 per page, newest first, no cursor on the last page
    _, first, _ = postbox.api("GET", "/v2/logs?count=4")
    _, second, _ = postbox.api("GET", f"/v2/logs?count=4&cursor={first['cursor']}")
    assert len(first["logs"]) == 4 and len(second["logs"]) == 2 and "cursor" not in second
    times = [e["time"] for e in first["logs"] + second["logs"]]
    assert times == sorted(times, reverse=True)
    _, none, _ = postbox.api("GET", "/v2/events?fromDate=1&toDate=2")
    assert none == {"events": []}


@pytest.mark.parametrize("query", ["count=101", "state=SLEEPING", "fromDate=yesterday", "order=random"])
def test_bad_log_queries_are_400(postbox, query):
    code, body, _ = postbox.api("GET", f"/v2/logs?{query}")
    assert code == 400 and set(body) == {"error"}


def test_lookup_by_dedup_key_on_both_routes(postbox):
    headers = {"Upstash-Deduplication-Id": "order-12345-created-v1"}
    message_id = postbox.api("POST", DEST, headers=headers)[1]["messageId"]
    by_id, by_key = (
        postbox.api("GET", f"/v2/messages/{message_id}")[1],
        postbox.api("GET", "/v2/messages/order-12345-created-v1")[1],
    )
    assert by_key == by_id and by_id["messageId"] == message_id
    v1_id, v1_key = (
        postbox.api("GET", f"/v1/messages/{message_id}")[1],
        postbox.api("GET", "/v1/messages/order-12345-created-v1")[1],
    )
    assert v1_key["data"] == v1_id["data"] and v1_id["data"]["idempotency_key"] == "order-12345-created-v1"


def test_v1_errors_use_the_seed_envelope(postbox):
    code, body, headers = postbox.api("GET", "/v1/messages/nope")
    assert code == 404 and body == {
        "error": {"code": "NOT_FOUND", "message": "message nope not found"},
        "meta": {"request_id": headers["X-Request-Id"]},
    }
    code, body, _ = postbox.api("GET", "/v1/messages/nope", token=None)
    assert code == 401 and body["error"]["code"] == "UNAUTHORIZED"


def test_request_id_and_rate_limit_headers_on_every_answer(postbox, monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_REQUESTS", "3")
    reset_process_caches()
    answers_ = [
        postbox.api("GET", "/v2/dlq"),  # 200
        postbox.api("GET", "/v2/dlq/none"),  # 404
        postbox.api("GET", "/v2/dlq", token="wrong"),  # 401 (counted against the caller's address)
        postbox.api("POST", DEST),  # 200
        postbox.api("POST", DEST),  # 429: 4th request of the token in this window
        postbox.api("GET", "/v1/messages/x"),  # 429
    ]
    assert [code for code, _, _ in answers_] == [200, 404, 401, 200, 429, 429]
    for _, _, headers in answers_:
        assert headers["X-Request-Id"]
        assert headers["X-RateLimit-Limit"] == "3"
        assert int(headers["X-RateLimit-Reset"]) > 0
    assert [h["X-RateLimit-Remaining"] for _, _, h in answers_] == ["2", "1", "2", "0", "0", "0"]
    _, body, headers = answers_[4]
    assert "rate limit" in body["error"] and headers["RateLimit-Limit"] == "3"  # QStash's, on publish
    assert answers_[5][1]["error"]["code"] == "RATE_LIMITED"


def test_a_delivered_message_leaves_v2_after_the_grace_period(postbox, httpserver: HTTPServer, monkeypatch):
    httpserver.expect_request("/ok").respond_with_data("ok")
    message_id = postbox.api("POST", f"/v2/publish/{httpserver.url_for('/ok')}")[1]["messageId"]
    postbox.drain()
    assert postbox.api("GET", f"/v2/messages/{message_id}")[0] == 200  # within the grace period
    monkeypatch.setenv("DELIVERED_GRACE_SECONDS", "0")
    reset_process_caches()
    import time

    time.sleep(0.01)
    assert postbox.api("GET", f"/v2/messages/{message_id}")[0] == 404
    assert postbox.api("GET", f"/v1/messages/{message_id}")[1]["data"]["status"] == "succeeded"
