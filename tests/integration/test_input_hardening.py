"""Bad input, against mock_aws: a 4xx `{"error": "..."}` that stores nothing, never a 500 or a stack trace. The
cases the schemathesis run (tests/e2e/test_fuzz.py) found are pinned here, with the OpenAPI document's route."""

from __future__ import annotations

import json

import boto3

from local_mode.runtime import reset_process_caches

DEST = "/v2/publish/https://example.com/hook"


def stored(postbox, table: str) -> int:
    return boto3.client("dynamodb").scan(TableName=postbox.env[table], Select="COUNT")["Count"]


def nothing_stored(postbox) -> bool:
    tables = ("MESSAGES_TABLE", "QUEUES_TABLE", "SCHEDULES_TABLE", "TOPICS_TABLE", "DLQ_TABLE")
    return all(stored(postbox, table) == 0 for table in tables) and postbox.receive() == []


def test_the_openapi_document_is_public(postbox):
    for token in (None, "wrong"):
        status, document, headers = postbox.api("GET", "/openapi.json", token=token)
        assert status == 200 and document["openapi"] == "3.1.0"
        assert "/v2/publish/{destination}" in document["paths"]
        assert headers["X-Request-Id"]
    # Only it, and only to read it: a route next to it, or another method, still needs the token
    assert postbox.api("GET", "/openapi.json/x", token=None)[0] == 401
    assert postbox.api("POST", "/openapi.json", token=None)[0] == 401


BAD_INPUT = [
    # query parameters: the type, the range, the enum
    ("GET", "/v2/dlq?count=0", None),
    ("GET", "/v2/dlq?count=abc", None),
    ("GET", "/v2/dlq?order=sideways", None),
    ("GET", "/v2/dlq?responseStatus=5xx", None),
    ("GET", "/v2/events?count=1001", None),
    ("GET", "/v2/logs?count=101", None),
    ("GET", "/v2/events?state=NOPE", None),
    ("GET", "/v2/events?fromDate=-1", None),
    ("POST", "/v2/flowControl/key/pin?parallelism=0", None),
    ("POST", "/v2/flowControl/key/unpin?rate=maybe", None),
    # a repeated parameter (API Gateway joins the values with a comma) that is not a list
    ("GET", "/v2/dlq?fromDate=1&fromDate=2", None),
    # a bad query parameter is not hidden by the same field in the body (the body's would win)
    ("DELETE", "/v2/messages?toDate=null", {"toDate": None}),
    ("DELETE", "/v2/dlq?count=0", {"count": 10}),
    # JSON bodies are read as JSON types: no 0 for false, no "2" for 2, no string for a list
    ("POST", "/v2/queues", {"queueName": "q", "paused": 0}),
    ("POST", "/v2/queues", {"queueName": "q", "parallelism": "2"}),
    ("DELETE", "/v2/messages", {"messageIds": "a,b"}),
    ("DELETE", "/v2/dlq", {"dlqIds": "a"}),
    # empty ids (they were DynamoDB keys, and a 500) and ids too long to be a key
    ("DELETE", "/v2/messages", {"messageIds": [""]}),
    ("POST", "/v2/dlq/retry", {"dlqIds": ["  "]}),
    ("DELETE", "/v2/dlq", {"dlqIds": ["x" * 1001]}),
    ("GET", "/v2/messages/" + "x" * 1001, None),
    ("DELETE", "/v2/dlq/" + "x" * 1001, None),
    ("GET", "/v2/flowControl/" + "k" * 1001, None),
    # names that cannot exist (deleting a missing URL group, queue or schedule is 2xx; an invalid name is not)
    ("DELETE", "/v2/topics/bad%20name", None),
    ("DELETE", "/v2/queues/%C2%84", None),
    ("DELETE", "/v2/schedules/a%2Fb", None),
    ("GET", "/v2/queues/" + "q" * 129, None),
    ("POST", "/v2/schedules/bad!/pause", None),
    # numbers beyond what the stores take (DynamoDB numbers, dates, ids' 48-bit times): they were 500s
    ("DELETE", "/v2/messages?toDate=" + "9" * 40, None),
    ("GET", "/v2/events?fromDate=" + "9" * 20, None),
    ("GET", "/v2/dlq?toDate=281474976710656", None),
    ("POST", "/v2/flowControl/key/pin?rate=" + "9" * 40, None),
    ("POST", "/v2/flowControl/key/pin?period=604801", None),
    # date ranges the wrong way round (DynamoDB refuses a BETWEEN whose bounds are reversed)
    ("GET", "/v2/dlq?fromDate=5&toDate=1", None),
    ("GET", "/v2/events?fromDate=5&toDate=1", None),
    ("DELETE", "/v2/messages?fromDate=5", {"toDate": 1}),
    # bodies that are not JSON objects
    ("POST", "/v2/queues", "not json"),
    ("POST", "/v2/topics/group/endpoints", [1, 2]),
    ("POST", "/v2/batch", {"destination": "https://example.com"}),
]


def test_bad_input_is_a_400_that_stores_nothing(postbox):
    for method, path, body in BAD_INPUT:
        data = b"" if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
        status, answer, headers = postbox.api(method, path, body=data)
        assert status == 400, (method, path[:80], answer)
        assert set(answer) == {"error"} and answer["error"]
        assert headers["Content-Type"] == "application/json"
    assert nothing_stored(postbox)


BAD_HEADERS = [
    {"Upstash-Not-Before": "-1"},
    {"Upstash-Not-Before": "soon"},
    {"Upstash-Retries": "21"},
    {"Upstash-Timeout": "0s"},
    {"Upstash-Content-Based-Deduplication": "maybe"},
    {"Upstash-Deduplication-Id": "d" * 513},
    {"Upstash-Flow-Control-Value": "rate=1"},
    {"Upstash-Flow-Control-Key": "k", "Upstash-Flow-Control-Value": "rate=0"},
    {"Upstash-Callback-Retries": "1"},
    {"Upstash-Forward-Bad Name": "x"},
    # beyond what the delay scheduler and the stores take: they were 503s and 500s
    {"Upstash-Not-Before": "99999999999999"},
    {"Upstash-Not-Before": "9" * 40},
    {"Upstash-Delay": "99999999999d"},
    {"Upstash-Delay": "1" * 5000},  # more digits than int() reads
    {"Upstash-Retries": "\u00b2"},  # a digit to str.isdigit(), not to int()
    {"Upstash-Flow-Control-Key": "k", "Upstash-Flow-Control-Value": "rate=" + "9" * 40},
    {"Upstash-Flow-Control-Key": "k", "Upstash-Flow-Control-Value": "parallelism=\u00b2"},
]


def test_bad_publish_headers_are_400_for_every_publishing_route(postbox):
    routes = [DEST, "/v2/enqueue/jobs/https://example.com/hook", "/v2/schedules/https://example.com/hook"]
    for headers in BAD_HEADERS:
        for path in routes:
            sent = {**headers, "Upstash-Cron": "* * * * *"} if path.startswith("/v2/schedules/") else headers
            status, answer, _ = postbox.api("POST", path, body=b"x", headers=sent)
            assert status == 400 and set(answer) == {"error"}, (path, headers, answer)
    assert nothing_stored(
        postbox
    )  # not even the queue that enqueueing creates  # not even the queue that enqueueing creates


def test_oversize_bodies_are_413_that_store_nothing(postbox, monkeypatch):
    monkeypatch.setenv("MAX_BODY_BYTES", "10")
    reset_process_caches()
    body = b"x" * 11
    batch = json.dumps([{"destination": "https://example.com/a", "body": "x" * 11}]).encode()
    for path, data, headers in [
        (DEST, body, {}),
        ("/v2/enqueue/jobs/https://example.com/hook", body, {}),
        ("/v2/schedules/https://example.com/hook", body, {"Upstash-Cron": "* * * * *"}),
        ("/v2/batch", batch, {}),
    ]:
        status, answer, _ = postbox.api("POST", path, body=data, headers=headers)
        assert status == 413 and set(answer) == {"error"}, (path, answer)
    assert nothing_stored(postbox)


def test_errors_on_v1_keep_its_envelope(postbox):
    status, answer, headers = postbox.api("GET", "/v1/messages/" + "x" * 1001)
    assert status == 400
    assert answer["error"]["code"] == "INVALID_REQUEST" and answer["meta"]["request_id"] == headers["X-Request-Id"]


def test_an_unexpected_failure_is_a_bare_500(postbox, monkeypatch):
    from functions.api.routes import keys

    def broken() -> object:
        raise RuntimeError("connection string postgres://user:secret@db")

    monkeypatch.setattr(keys, "signing_keys", broken)
    status, answer, _ = postbox.api("GET", "/v2/keys")
    assert status == 500 and answer == {"error": "internal error"}


def test_a_far_future_to_date_reads_no_more_of_the_log(postbox):
    # toDate bounds the day buckets read: the year 10889 was a 500, and a later year one query per day until then
    for path in ("/v2/events?toDate=281474976710655", "/v2/logs?fromDate=281474976710655"):
        status, answer, _ = postbox.api("GET", path)
        assert status == 200, answer


def test_crafted_cursors_are_400(postbox):
    import base64

    def cursor(key: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")

    for path in (
        f"/v2/events?cursor={cursor({'nope': 'x'})}",
        "/v2/dlq?cursor=%%%",
        f"/v2/dlq?cursor={cursor({'dlqId': 'x'})}",
    ):
        status, answer, _ = postbox.api("GET", path)
        assert status == 400 and set(answer) == {"error"}, (path, answer)
