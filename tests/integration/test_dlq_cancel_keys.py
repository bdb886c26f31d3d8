"""DLQ API, cancel, dedup, signing keys and large bodies through the API handler, against mock_aws."""

import json
import threading
import uuid

import boto3
import pytest

from functions.composition.stores import Stores
from functions.core.models import AttemptResult, DlqEntry, MessageRequest
from functions.shared.config import get_settings
from functions.shared.ids import uuid7

DEST = "/v2/publish/https://example.com/hook"


def seed_dlq(
    count: int,
    *,
    start_ms: int = 1_800_000_000_000,
    step_ms: int = 1000,
    url: str = "https://a.example.com/x",
    status: int = 500,
) -> list[str]:
    """Dead-letter `count` messages directly through the repository (one per `step_ms`)."""
    dlq = Stores(get_settings()).dlq
    client = boto3.client("dynamodb")
    ids: list[str] = []
    for i in range(count):
        at = start_ms + i * step_ms
        request = MessageRequest(
            message_id=uuid7(), url=url, body=b"b%d" % i, not_before_ms=at, created_at_ms=at, max_retries=0
        )
        dlq_id = str(uuid.UUID(int=at << 80 | 0x7 << 76 | 0b10 << 62 | i))  # a UUIDv7 of that very millisecond
        entry = DlqEntry(dlq_id=dlq_id, request=request, response=AttemptResult(status=status), created_at_ms=at)
        client.put_item(**dlq.put_in_transaction(entry, 4_000_000_000_000)["Put"])
        ids.append(entry.dlq_id)
    return ids


def test_dlq_pages_through_250_entries(postbox):
    # Given 250 DLQ entries
    ids = seed_dlq(250)
    # When listed 100 at a time
    pages, cursor = [], None
    while True:
        path = "/v2/dlq?count=100" + (f"&cursor={cursor}" if cursor else "")
        status, page, _ = postbox.api("GET", path)
        assert status == 200, page
        pages.append(page)
        cursor = page.get("cursor")
        if cursor is None:
            break
    # Then there are 3 pages (100, 100, 50), newest first, the last one without a cursor key
    assert [len(p["messages"]) for p in pages] == [100, 100, 50]
    assert "cursor" not in pages[-1]
    listed = [m["dlqId"] for p in pages for m in p["messages"]]
    assert listed == list(reversed(ids))
    # And earliestFirst reverses the order
    _, first, _ = postbox.api("GET", "/v2/dlq?count=3&order=earliestFirst")
    assert [m["dlqId"] for m in first["messages"]] == ids[:3]


def test_dlq_filters(postbox):
    a = seed_dlq(5, url="https://a.example.com/x", status=500)
    b = seed_dlq(3, start_ms=1_800_000_100_000, url="https://b.example.com/y", status=404)
    _, by_url, _ = postbox.api("GET", "/v2/dlq?url=https://b.example.com/y")
    assert sorted(m["dlqId"] for m in by_url["messages"]) == sorted(b)
    _, by_status, _ = postbox.api("GET", "/v2/dlq?responseStatus=500")
    assert sorted(m["dlqId"] for m in by_status["messages"]) == sorted(a)
    # fromDate/toDate (unix ms) select entries 1..3 of the first batch
    _, by_date, _ = postbox.api("GET", "/v2/dlq?fromDate=1800000001000&toDate=1800000003000")
    assert sorted(m["dlqId"] for m in by_date["messages"]) == sorted(a[1:4])
    _, one, _ = postbox.api("GET", "/v2/dlq?count=1&url=https://a.example.com/x")
    assert len(one["messages"]) == 1 and "cursor" in one


@pytest.mark.parametrize("query", ["count=0", "count=101", "order=sideways", "responseStatus=abc", "cursor=%%%"])
def test_bad_dlq_queries_are_400(postbox, query):
    status, body, _ = postbox.api("GET", f"/v2/dlq?{query}")
    assert status == 400 and set(body) == {"error"}


def test_delete_dlq_entries(postbox):
    ids = seed_dlq(4)
    status, _, _ = postbox.api("DELETE", f"/v2/dlq/{ids[0]}")
    assert status == 200
    status, body, _ = postbox.api("DELETE", f"/v2/dlq/{ids[0]}")
    assert status == 404 and "error" in body
    status, body, _ = postbox.api("DELETE", "/v2/dlq", body=json.dumps({"dlqIds": ids[1:3]}).encode())
    assert (status, body) == (200, {"deleted": 2})
    status, body, _ = postbox.api("DELETE", f"/v2/dlq?dlqIds={ids[3]}")
    assert (status, body) == (200, {"deleted": 1})
    _, page, _ = postbox.api("GET", "/v2/dlq")
    assert page == {"messages": []}


def test_retry_from_the_dlq_publishes_again(postbox):
    [dlq_id] = seed_dlq(1)
    status, body, _ = postbox.api("POST", f"/v2/dlq/retry/{dlq_id}")
    assert status == 201, body
    new_id = body["messageId"]
    # the entry is gone, the new message waits in the queue with its replay count kept
    assert postbox.api("GET", f"/v2/dlq/{dlq_id}")[0] == 404
    messages = Stores(get_settings()).messages.store
    replay = messages.get(new_id, 0)
    assert replay is not None
    assert replay.request.replay_count == 1 and replay.request.body == b"b0"
    assert [json.loads(m["Body"])["messageId"] for m in postbox.receive()] == [new_id]
    assert postbox.api("POST", f"/v2/dlq/retry/{dlq_id}")[0] == 404


def test_bulk_retry_from_the_dlq(postbox):
    ids = seed_dlq(3)
    status, body, _ = postbox.api("POST", f"/v2/dlq/retry?dlqIds={ids[0]}&dlqIds={ids[1]}")
    assert status == 201 and len(body["responses"]) == 2
    status, body, _ = postbox.api("POST", "/v2/dlq/retry")  # no ids: every entry (a page of them)
    assert status == 201 and len(body["responses"]) == 1 and "cursor" not in body


def test_cancel_one_and_all(postbox):
    ids = []
    for _ in range(3):
        status, body, _ = postbox.api("POST", DEST, headers={"Upstash-Delay": "1h"})
        ids.append(body["messageId"])
    assert postbox.api("DELETE", f"/v2/messages/{ids[0]}")[1] == {"cancelled": 1}
    assert postbox.api("DELETE", f"/v2/messages/{ids[0]}")[1] == {"cancelled": 0}  # finished already
    assert postbox.api("DELETE", "/v2/messages/unknown")[0] == 404
    status, body, _ = postbox.api("DELETE", "/v2/messages", body=json.dumps({"messageIds": [ids[1]]}).encode())
    assert body == {"cancelled": 1}
    status, body, _ = postbox.api("DELETE", "/v2/messages")  # no body, no filter: every pending message
    assert body == {"cancelled": 1}
    messages = Stores(get_settings()).messages.store
    found = [messages.get(i, 0) for i in ids]
    assert {m.status.state if m else None for m in found} == {"CANCELED"}


def test_cancel_by_filter(postbox):
    keep = postbox.api("POST", DEST, headers={"Upstash-Delay": "1h", "Upstash-Label": "keep"})[1]["messageId"]
    drop = postbox.api("POST", DEST, headers={"Upstash-Delay": "1h", "Upstash-Label": "drop"})[1]["messageId"]
    assert postbox.api("DELETE", "/v2/messages?label=drop")[1] == {"cancelled": 1}
    messages = Stores(get_settings()).messages.store
    kept, dropped = messages.get(keep, 0), messages.get(drop, 0)
    assert kept is not None and dropped is not None
    assert kept.status.state == "CREATED" and dropped.status.state == "CANCELED"


def test_dedup_answers_202_with_the_first_id(postbox):
    headers = {"Upstash-Deduplication-Id": "order-42"}
    first = postbox.api("POST", DEST, headers=headers, body=b"a")
    again = postbox.api("POST", DEST, headers=headers, body=b"b")
    assert first[0] == 200 and again[0] == 202
    assert again[1] == {"messageId": first[1]["messageId"], "url": "https://example.com/hook", "deduplicated": True}
    content = {"Upstash-Content-Based-Deduplication": "True"}  # as the Python SDK spells it
    one = postbox.api("POST", DEST, headers=content, body=b"same")[1]
    two = postbox.api("POST", DEST, headers=content, body=b"same")[1]
    three = postbox.api("POST", DEST, headers=content, body=b"other")[1]
    assert two["messageId"] == one["messageId"] and three["messageId"] != one["messageId"]


def test_concurrent_publishes_with_one_dedup_id_store_one_message(postbox):
    # Given 50 publishes of the same dedup id at once, straight to the service (no front door in between)
    from functions.api.root import api_root
    from functions.messages.service import PublishInput

    service = api_root().messages
    answers, barrier = [], threading.Barrier(50)

    def publish():
        barrier.wait()
        outcome = service.publish(
            PublishInput("https://example.com/x", "", {"upstash-deduplication-id": "d"}, b"", None)
        )
        answers.extend(outcome.published)

    threads = [threading.Thread(target=publish) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then one message exists and every answer names it
    assert len({a.message_id for a in answers}) == 1 and len(answers) == 50
    assert sum(not a.deduplicated for a in answers) == 1
    assert len(postbox.receive()) == 1


def test_signing_keys_get_and_rotate(postbox):
    status, keys, _ = postbox.api("GET", "/v2/keys")
    assert status == 200 and keys == postbox.backend.signing_keys
    status, rotated, _ = postbox.api("POST", "/v2/keys/rotate")
    assert rotated["current"] == keys["next"] and rotated["next"] not in (keys["current"], keys["next"])
    assert rotated["next"].startswith("sig_")
    assert postbox.api("GET", "/v2/keys")[1] == rotated


def test_a_secret_without_next_key_gets_one(postbox):
    boto3.client("secretsmanager").put_secret_value(
        SecretId=postbox.env["SIGNING_KEYS_SECRET_ID"], SecretString=json.dumps({"current": "generated-by-cfn"})
    )
    keys = postbox.api("GET", "/v2/keys")[1]
    assert keys["current"] == "generated-by-cfn" and keys["next"].startswith("sig_")
    assert postbox.api("GET", "/v2/keys")[1] == keys


def test_large_bodies_go_to_s3_and_come_back(postbox, monkeypatch):
    body = bytes(range(256)) * 2000  # 512 KB: above the item limit, below the body limit
    status, answer, _ = postbox.api("POST", DEST, body=body)
    assert status == 200, answer
    objects = boto3.client("s3").list_objects_v2(Bucket=postbox.env["BODIES_BUCKET"]).get("Contents", [])
    assert [o["Key"] for o in objects] == [f"bodies/{answer['messageId']}"]
    _, message, _ = postbox.api("GET", f"/v2/messages/{answer['messageId']}")
    import base64

    assert base64.b64decode(message["bodyBase64"]) == body
    status, error, _ = postbox.api("POST", DEST, body=b"x" * (1024 * 1024 + 1))
    assert status == 413 and "error" in error


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({"Upstash-Retry-Delay": "pow(2"}, "Upstash-Retry-Delay"),
        ({"Upstash-Retry-Delay": "__import__('os')"}, "Upstash-Retry-Delay"),
        ({"Upstash-Timeout": "forever"}, "Upstash-Timeout"),
        ({"Upstash-Callback": "not a url"}, "destination"),
        ({"Upstash-Callback": "https://e.com/cb", "Upstash-Callback-Delay": "10s"}, "Upstash-Callback-Delay"),
        ({"Upstash-Callback-Retries": "2"}, "Upstash-Callback"),
        ({"Upstash-Content-Based-Deduplication": "maybe"}, "Upstash-Content-Based-Deduplication"),
    ],
)
def test_bad_delivery_options_are_400(postbox, headers, fragment):
    status, body, _ = postbox.api("POST", DEST, headers=headers)
    assert status == 400 and fragment in body["error"], body
    assert boto3.client("dynamodb").scan(TableName=postbox.env["MESSAGES_TABLE"])["Count"] == 0
