"""RecordFilter (functions/core/filters.py), the parsing of list and bulk queries, and the publish headers
behind labels and redaction."""

from __future__ import annotations

import hashlib

import pytest

from functions.api.requests import CancelRequest, DlqQuery, EventQuery, parse
from functions.core.filters import RecordFilter, host_names, url_path
from functions.core.models import MessageRequest, Redaction
from functions.core.redaction import redact_headers, shown_request
from functions.messages.publish import parse_labels, parse_redaction
from functions.shared.errors import BadRequestError

ITEM = {
    "messageId": "m1",
    "url": "http://Api.Example.com:8080/orders/new?x=1",
    "labels": ["l1", "l2"],
    "queueName": "q",
    "responseStatus": 500,
    "state": "FAILED",
}


@pytest.mark.parametrize(
    ("where", "matches"),
    [
        (RecordFilter(), True),
        (RecordFilter(labels=("l2", "other")), True),
        (RecordFilter(labels=("other",)), False),
        (RecordFilter(labels=("l1",), queue_names=("nope",)), False),  # every filter must match
        (RecordFilter(hosts=("api.example.com",)), True),
        (RecordFilter(hosts=("api.example.com:8080",)), True),
        (RecordFilter(hosts=("api.example.com:9",)), False),
        (RecordFilter(paths=("/orders/new",)), True),
        (RecordFilter(paths=("/orders",)), False),
        (RecordFilter(response_statuses=(404, 500)), True),
        (RecordFilter(response_statuses=(600, 500)), True),
        (RecordFilter(response_statuses=(600,)), False),
        (RecordFilter(states=("DELIVERED",)), False),
        (RecordFilter(message_ids=()), False),  # an empty id list matches nothing
        (RecordFilter(flow_control_keys=("k",)), False),  # no key is not a match
    ],
)
def test_a_record_matches_every_filter_given(where: RecordFilter, matches: bool) -> None:
    assert where.matches(ITEM) is matches


def test_host_names_and_paths() -> None:
    assert host_names("http://[::1]:9000/x") == {"[::1]", "::1", "[::1]:9000"}
    assert host_names("https://user:pw@h.example/") == {"h.example"}
    assert url_path("https://h.example") == "/" and url_path("https://h.example/a,b?c") == "/a,b"


def test_query_values_split_at_commas_only_where_a_value_holds_none() -> None:
    query = parse(EventQuery, [("label", "a,b"), ("label", "c"), ("url", "http://h/a,b"), ("path", "/p,q")])
    where = query.to_filter()
    assert where.labels == ("a", "b", "c") and where.urls == ("http://h/a,b",) and where.paths == ("/p,q",)
    assert where.states is None and where.hosts is None


def test_an_empty_id_list_is_given_and_empty() -> None:
    assert parse(DlqQuery, [("dlqIds", "")]).dlq_ids == []
    assert parse(CancelRequest, body={"messageIds": []}).message_ids == []
    assert parse(CancelRequest).message_ids is None


@pytest.mark.parametrize(
    ("model", "query", "message"),
    [
        (DlqQuery, [("labeel", "x")], "unknown query parameter 'labeel'"),
        (DlqQuery, [("host", "h")], "unknown query parameter 'host'"),
        (CancelRequest, [("cursor", "c")], "unknown query parameter 'cursor'"),
        (EventQuery, [("responseStatus", "500")], "unknown query parameter 'responseStatus'"),
        (DlqQuery, [("count", "1"), ("count", "2")], "count given more than once"),
        (DlqQuery, [("dlqIds", "a"), ("cursor", "c")], "takes no cursor or count"),
        (EventQuery, [("state", "DELIVERED,NOPE")], "state"),
    ],
)
def test_bad_queries_are_refused(model: type, query: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        parse(model, query)


def test_states_expand_to_what_they_stand_for() -> None:
    where = parse(EventQuery, [("state", "in_progress"), ("state", "CANCELLED")]).to_filter()
    assert set(where.states or ()) == {"ACTIVE", "RETRY", "ERROR", "CANCELED"}


def test_labels_are_split_trimmed_and_kept_in_order() -> None:
    assert parse_labels(" b , a,, b") == ("b", "a")
    assert parse_labels(None) == ()
    with pytest.raises(BadRequestError, match="Upstash-Label"):
        parse_labels("x" * 257)


def test_redaction_shows_digests_of_the_values() -> None:
    redact = parse_redaction("body, header[x-api-key], headers[Cookie]", b"secret")
    assert redact == Redaction(
        body_sha256=hashlib.sha256(b"secret").hexdigest(), headers=frozenset({"X-Api-Key", "Cookie"})
    )
    request = MessageRequest(
        message_id="m",
        url="https://h/",
        body=b"secret",
        header={"X-Api-Key": ["k"], "Accept": ["*/*"]},
        not_before_ms=0,
        created_at_ms=0,
        redact=redact,
    )
    shown = shown_request(request)
    assert shown.body == ("REDACTED:" + hashlib.sha256(b"secret").hexdigest()).encode()
    assert shown.header == {"X-Api-Key": ["REDACTED:" + hashlib.sha256(b"k").hexdigest()], "Accept": ["*/*"]}
    assert redact_headers({"A": ["1"]}, Redaction(all_headers=True)) == {
        "A": ["REDACTED:" + hashlib.sha256(b"1").hexdigest()]
    }
    assert parse_redaction("", b"") is None
