"""Cursors are validated and clamped, and a page's cost is bounded whatever the cursor or the filter."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping

import pytest

import functions.events.repository as events_repository
import functions.stores.dlq as dlq_repository
from functions.shared.ids import uuid7_bound
from tests.integration.test_dlq_cancel_keys import seed_dlq


def cursor(key: Mapping[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


class QueryCounter:
    """Counts the DynamoDB queries the API makes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from functions.shared import aws

        self.calls = 0
        client = aws.dynamodb()
        original = client.query

        def counted(**kwargs):
            self.calls += 1
            return original(**kwargs)

        monkeypatch.setattr(client, "query", counted)


def test_the_forged_event_cursor_is_a_400_at_once(postbox, monkeypatch):
    counter = QueryCounter(monkeypatch)
    for key in ({"eventId": "01a21"}, {"eventId": "zz-not-hex"}, {"eventId": str(uuid.uuid4())}, {"eventId": 5}):
        path = f"/v2/events?order=earliestFirst&count=1000&cursor={cursor(key)}"  # noqa: S105 - not a secret
        status, answer, _ = postbox.api("GET", path)
        assert status == 400 and answer == {"error": "invalid cursor"}, key
    assert counter.calls == 0
    assert postbox.api("GET", "/v2/logs?cursor=" + "A" * 600)[0] == 400


@pytest.mark.parametrize(
    "key",
    [{"dlqId": "x", "listing": "dlq"}, {"dlqId": str(uuid.uuid4()), "listing": "dlq"}, {"dlqId": "", "listing": "x"}],
)
def test_a_forged_dlq_cursor_is_a_400_on_every_dlq_route(postbox, key):
    seed_dlq(2)
    for method, path in (("GET", "/v2/dlq"), ("DELETE", "/v2/dlq"), ("POST", "/v2/dlq/retry")):
        status, answer, _ = postbox.api(method, f"{path}?cursor={cursor(key)}")
        assert (status, answer) == (400, {"error": "invalid cursor"}), (method, key)
    assert len(postbox.api("GET", "/v2/dlq")[1]["messages"]) == 2


def test_a_cursor_from_long_ago_reads_only_the_retention_window(postbox, monkeypatch):
    # Given a well-formed cursor dated 1970
    counter = QueryCounter(monkeypatch)
    ancient = cursor({"eventId": uuid7_bound(1000, upper=False)})
    # When it is used oldest first / Then each shard of the messages and of the late markers is queried once, from
    # the start of the retention window: nothing is read for the decades before it
    status, answer, _ = postbox.api("GET", f"/v2/events?order=earliestFirst&cursor={ancient}")
    assert (status, answer) == (200, {"events": []})
    from functions.shared.resources import WRITE_SHARDS

    assert 0 < counter.calls <= 2 * WRITE_SHARDS


def test_a_page_reads_a_bounded_number_of_entries(postbox, monkeypatch):
    # Given a DLQ of 30 entries, one of them (the oldest) with status 404, and a page budget of 10 entries
    monkeypatch.setattr(dlq_repository, "MAX_EXAMINED_PER_PAGE", 10)
    monkeypatch.setattr(dlq_repository, "_FILTERED_PAGE", 5)
    [wanted] = seed_dlq(1, status=404)
    seed_dlq(29, start_ms=1_800_000_100_000)
    # When the client pages through a filter that matches only it
    pages, found, next_cursor = 0, [], None
    while True:
        path = "/v2/dlq?responseStatus=404&count=1" + (f"&cursor={next_cursor}" if next_cursor else "")
        status, page, _ = postbox.api("GET", path)
        assert status == 200, page
        pages += 1
        found += [m["dlqId"] for m in page["messages"]]
        next_cursor = page.get("cursor")
        if not next_cursor:
            break
    # Then each page read at most 11 entries, the pages went on from where the last one stopped, and it was found
    assert found == [wanted] and pages == 3


def test_an_event_page_reads_a_bounded_number_of_events(postbox, monkeypatch):
    monkeypatch.setattr(events_repository, "MAX_EXAMINED_PER_PAGE", 3)
    ids = [
        postbox.api("POST", "/v2/publish/https://example.com/x", headers={"Upstash-Delay": "1h"})[1] for _ in range(6)
    ]
    status, answer, _ = postbox.api(
        "POST", "/v2/publish/https://example.com/x", headers={"Upstash-Label": "rare", "Upstash-Delay": "1h"}
    )
    rare = answer["messageId"]
    found, next_cursor, pages = [], None, 0
    while True:
        path = "/v2/events?label=rare&order=earliestFirst&count=1" + (f"&cursor={next_cursor}" if next_cursor else "")
        status, page, _ = postbox.api("GET", path)
        pages += 1
        found += [e["messageId"] for e in page["events"]]
        next_cursor = page.get("cursor")
        if not next_cursor:
            break
    assert found == [rare] and pages >= 2 and len(ids) == 6
