"""The filters of every list and bulk route, through the API handler against mock_aws: a filter Postbox does not
know is a 400 that changes nothing, an empty id list acts on nothing, every filter narrows, several values of one
filter mean any of them."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from functions.composition.stores import Stores
from functions.core.lifecycle import MessageState
from functions.core.models import AttemptResult, DlqEntry, FlowControl, MessageRequest, MessageStatus
from functions.shared.clock import now_ms
from functions.shared.config import get_settings
from functions.shared.ids import uuid7
from functions.stores.messages import NewMessage

T0 = now_ms() - 600_000  # ten minutes ago: inside the log's retention
# Three records, each a pending message (with its CREATED log entry) and a DLQ entry of its own.
RECORDS: dict[str, dict[str, Any]] = {
    "a": {
        "url": "http://a.example.com:8080/x/y?q=1",
        "topic_name": "ta",
        "schedule_id": "sa",
        "queue_name": "qa",
        "caller_ip": "10.0.0.1",
        "labels": ("la-1", "lb-1"),
        "flow_control": FlowControl(key="fa", parallelism=2),
        "status": 500,
    },
    "b": {
        "url": "https://b.example.com/p,q",
        "topic_name": "tb",
        "schedule_id": "sb",
        "queue_name": "qb",
        "caller_ip": "10.0.0.2",
        "labels": ("lc",),
        "flow_control": FlowControl(key="fb,1", rate=3),
        "status": 404,
    },
    "c": {"url": "http://c.example.com/z", "labels": (), "status": None},
}


class Seeded:
    """The ids of the seeded records, by record name."""

    def __init__(self) -> None:
        self.message: dict[str, str] = {}
        self.dlq: dict[str, str] = {}

    def names(self, ids: list[str], kind: str) -> set[str]:
        by_id = {v: k for k, v in getattr(self, kind).items()}
        return {by_id.get(i, i) for i in ids}


@pytest.fixture
def seeded(postbox) -> Seeded:
    stores = Stores(get_settings())
    messages, dlq = stores.messages, stores.dlq
    seeded = Seeded()
    for i, (name, spec) in enumerate(RECORDS.items()):
        at = T0 + i * 1000
        attributes = {k: v for k, v in spec.items() if k != "status"}
        request = MessageRequest(
            message_id=uuid7(at), not_before_ms=at + 3_600_000, created_at_ms=at, body=name.encode(), **attributes
        )
        status = MessageStatus(state=MessageState.CREATED, next_delivery_at_ms=at + 3_600_000, updated_at_ms=at)
        messages.store.create(NewMessage(request, status, 4_000_000_000_000))
        dlq_id = str(uuid.UUID(int=at << 80 | 0x7 << 76 | 0b10 << 62 | i))  # a UUIDv7 of that very millisecond
        entry = DlqEntry(
            dlq_id=dlq_id, request=request, response=AttemptResult(status=spec["status"]), created_at_ms=at
        )
        messages.store.client.put_item(**dlq.put_in_transaction(entry, 4_000_000_000_000)["Put"])
        seeded.message[name], seeded.dlq[name] = request.message_id, dlq_id
    return seeded


def q(**params: str | list[str]) -> str:
    """A query string, a list value as a repeated parameter (as the SDKs send several values)."""
    pairs = [(k, v) for k, values in params.items() for v in (values if isinstance(values, list) else [values])]
    return "&".join(f"{k}={quote(str(v), safe='')}" for k, v in pairs)


def listed_dlq(postbox, seeded: Seeded, query: str) -> set[str]:
    status, page, _ = postbox.api("GET", f"/v2/dlq?{query}")
    assert status == 200, page
    return seeded.names([m["dlqId"] for m in page["messages"]], "dlq")


def listed_log(postbox, seeded: Seeded, query: str, route: str = "/v2/events") -> set[str]:
    status, page, _ = postbox.api("GET", f"{route}?{query}")
    assert status == 200, page
    entries = page["events" if route == "/v2/events" else "logs"]
    return seeded.names([e["messageId"] for e in entries], "message")


def pending(postbox, seeded: Seeded) -> set[str]:
    messages = Stores(get_settings()).messages.store
    return {
        n for n, i in seeded.message.items() if (m := messages.get(i, 0)) and m.status.state == MessageState.CREATED
    }


# --- the requests that widened: each leaves the DLQ and the pending messages as they were ----------------------


def test_the_widening_requests_change_nothing(postbox, seeded):
    dlq_before = listed_dlq(postbox, seeded, "")
    assert dlq_before == {"a", "b", "c"}
    cases: list[tuple[str, str, dict[str, Any] | None, int, dict[str, Any] | None]] = [
        ("DELETE", "/v2/dlq?flowControlKey=nothing-has-this", None, 200, {"deleted": 0}),
        ("POST", "/v2/dlq/retry?flowControlKey=non-existent-key&count=100", None, 201, {"responses": []}),
        ("DELETE", "/v2/dlq?labeel=some-value&count=100", None, 400, None),
        ("DELETE", "/v2/dlq", {"dlqIds": []}, 200, {"deleted": 0}),
        ("POST", "/v2/dlq/retry", {"dlqIds": []}, 201, {"responses": []}),
        ("DELETE", "/v2/dlq?dlqIds=", None, 200, {"deleted": 0}),
        ("DELETE", "/v2/messages", {"messageIds": []}, 200, {"cancelled": 0}),
        ("DELETE", "/v2/messages?messageIds=", None, 200, {"cancelled": 0}),
        ("DELETE", "/v2/messages?queueName=no-such-queue", None, 200, {"cancelled": 0}),
        ("DELETE", "/v2/messages?labeel=x", None, 400, None),
        ("DELETE", "/v2/dlq?responseStatus=600", None, 200, {"deleted": 0}),
    ]
    for method, path, body, expected_status, expected in cases:
        data = json.dumps(body).encode() if body is not None else b""
        status, answer, _ = postbox.api(method, path, body=data)
        assert status == expected_status, (method, path, answer)
        if expected is not None:
            assert answer == expected, (method, path)
        else:
            assert set(answer) == {"error"} and "'labeel'" in answer["error"]
    assert listed_dlq(postbox, seeded, "") == dlq_before
    assert pending(postbox, seeded) == {"a", "b", "c"}


def test_count_caps_a_bulk_cancel(postbox, seeded):
    status, answer, _ = postbox.api("DELETE", "/v2/messages?count=1")
    assert (status, answer) == (200, {"cancelled": 1})
    assert pending(postbox, seeded) == {"b", "c"}  # the oldest first
    for bad in ("count=0", "count=501", "count=x"):
        assert postbox.api("DELETE", f"/v2/messages?{bad}")[0] == 400
    assert pending(postbox, seeded) == {"b", "c"}


# --- every route knows exactly its fields: a misspelled one is a 400 naming it -----------------------------------

ROUTES = [
    ("GET", "/v2/dlq"),
    ("DELETE", "/v2/dlq"),
    ("POST", "/v2/dlq/retry"),
    ("GET", "/v2/events"),
    ("GET", "/v2/logs"),
    ("DELETE", "/v2/messages"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("field", ["labeel", "urlGroup", "api", "flowcontrolkey", "responsestatus", "states"])
def test_an_unknown_query_field_is_a_400_naming_it(postbox, seeded, method, path, field):
    status, answer, _ = postbox.api(method, f"{path}?{field}=x&count=1")
    assert status == 400 and set(answer) == {"error"} and repr(field) in answer["error"]
    assert listed_dlq(postbox, seeded, "") == {"a", "b", "c"} and pending(postbox, seeded) == {"a", "b", "c"}


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_more_values_than_a_filter_takes_are_a_400_empty_ones_included(postbox, seeded, method, path):
    # (empty values are dropped, `?callerIp=` filters nothing, but 101 of them are still more than a filter takes)
    for values in (["10.0.0.1"] * 101, [""] * 101):
        query = "&".join(f"callerIp={value}" for value in values)
        status, answer, _ = postbox.api(method, f"{path}?{query}")
        assert status == 400 and "callerIp" in answer["error"], (method, path, answer)


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[0] != "GET"])
def test_an_unknown_body_field_is_a_400_naming_it(postbox, seeded, method, path):
    status, answer, _ = postbox.api(method, path, body=b'{"labeel": "x"}')
    assert status == 400 and "'labeel'" in answer["error"]
    status, answer, _ = postbox.api(method, f"{path}?label=la-1", body=b'{"label": ["lc"]}')
    assert status == 400 and "both the query and the body" in answer["error"]
    assert listed_dlq(postbox, seeded, "") == {"a", "b", "c"} and pending(postbox, seeded) == {"a", "b", "c"}


def test_the_host_and_path_filters_are_not_the_dlqs(postbox, seeded):
    # The SDKs offer them on the log and the bulk cancel only
    for method, path in ROUTES[:3]:
        assert postbox.api(method, f"{path}?host=a.example.com")[0] == 400
    assert listed_dlq(postbox, seeded, "") == {"a", "b", "c"}


# --- each real field narrows, on every route that takes it ---------------------------------------------------------

# field -> (values selecting "a", values selecting "a" or "b")
FIELDS = {
    "url": (["http://a.example.com:8080/x/y?q=1"], ["http://a.example.com:8080/x/y?q=1", "https://b.example.com/p,q"]),
    "topicName": (["ta"], ["ta,tb"]),
    "scheduleId": (["sa"], ["sa", "sb"]),
    "queueName": (["qa"], ["qa,qb"]),
    "callerIp": (["10.0.0.1"], ["10.0.0.1", "10.0.0.2"]),
    "label": (["lb-1"], ["la-1,lc"]),
    "flowControlKey": (["fa"], ["fa", "fb,1"]),
}
LOG_FIELDS = {
    **FIELDS,
    "host": (["a.example.com"], ["a.example.com:8080", "b.example.com"]),
    "path": (["/x/y"], ["/x/y", "/p,q"]),
}
DLQ_FIELDS = {**FIELDS, "responseStatus": (["500"], ["500", "404"])}


def _by_id(seeded: Seeded, kind: str, name: str) -> str:
    return str(getattr(seeded, kind)[name])


@pytest.mark.parametrize("field", sorted(DLQ_FIELDS))
def test_each_dlq_filter_on_the_list(postbox, seeded, field):
    one, two = DLQ_FIELDS[field]
    assert listed_dlq(postbox, seeded, q(**{field: one})) == {"a"}
    assert listed_dlq(postbox, seeded, q(**{field: two})) == {"a", "b"}


@pytest.mark.parametrize("field", sorted(DLQ_FIELDS))
def test_each_dlq_filter_on_the_bulk_delete_and_retry(postbox, seeded, field):
    one, two = DLQ_FIELDS[field]
    status, answer, _ = postbox.api("DELETE", f"/v2/dlq?{q(**{field: one})}")
    assert (status, answer) == (200, {"deleted": 1})
    assert listed_dlq(postbox, seeded, "") == {"b", "c"}
    status, answer, _ = postbox.api("POST", f"/v2/dlq/retry?{q(**{field: two})}&count=100")
    assert status == 201 and len(answer["responses"]) == 1
    assert listed_dlq(postbox, seeded, "") == {"c"}


def test_the_dlq_by_message_id_dates_and_ids(postbox, seeded):
    ids = seeded.message
    assert listed_dlq(postbox, seeded, q(messageId=ids["b"])) == {"b"}
    assert listed_dlq(postbox, seeded, q(messageId=[ids["a"], ids["c"]])) == {"a", "c"}
    assert listed_dlq(postbox, seeded, q(fromDate=str(T0 + 1000))) == {"b", "c"}
    assert listed_dlq(postbox, seeded, q(toDate=str(T0 + 1000))) == {"a", "b"}
    # ids, alone or with filters (they must match both)
    dlq = seeded.dlq
    assert listed_dlq(postbox, seeded, q(dlqIds=[dlq["a"], dlq["c"]])) == {"a", "c"}
    assert listed_dlq(postbox, seeded, q(dlqIds=f"{dlq['a']},{dlq['c']}", label="la-1")) == {"a"}
    assert listed_dlq(postbox, seeded, "dlqIds=") == set()
    for bad in (f"dlqIds={dlq['a']}&cursor=x", f"dlqIds={dlq['a']}&count=5"):
        assert postbox.api("GET", f"/v2/dlq?{bad}")[0] == 400
    body = json.dumps({"dlqIds": [dlq["a"], dlq["b"]]}).encode()
    status, answer, _ = postbox.api("DELETE", "/v2/dlq?responseStatus=404", body=body)
    assert (status, answer) == (200, {"deleted": 1})
    assert listed_dlq(postbox, seeded, "") == {"a", "c"}


def test_a_response_status_no_response_has_matches_nothing(postbox, seeded):
    for value in ("600", "99", "0", "-1", "600,700"):
        assert listed_dlq(postbox, seeded, f"responseStatus={value}") == set()
    assert listed_dlq(postbox, seeded, "responseStatus=600&responseStatus=404") == {"b"}
    assert postbox.api("GET", "/v2/dlq?responseStatus=abc")[0] == 400


@pytest.mark.parametrize("route", ["/v2/events", "/v2/logs"])
@pytest.mark.parametrize("field", sorted(LOG_FIELDS))
def test_each_log_filter(postbox, seeded, route, field):
    one, two = LOG_FIELDS[field]
    assert listed_log(postbox, seeded, q(**{field: one}), route) == {"a"}
    assert listed_log(postbox, seeded, q(**{field: two}), route) == {"a", "b"}


def test_the_log_by_message_ids_state_and_dates(postbox, seeded):
    ids = seeded.message
    assert listed_log(postbox, seeded, q(messageIds=[ids["a"], ids["b"]])) == {"a", "b"}
    assert listed_log(postbox, seeded, q(messageId=ids["c"])) == {"c"}
    assert listed_log(postbox, seeded, q(messageIds=[ids["a"], ids["b"]], label="lc")) == {"b"}
    assert listed_log(postbox, seeded, "messageIds=") == set()
    assert listed_log(postbox, seeded, q(state="CREATED", host="c.example.com")) == {"c"}
    assert listed_log(postbox, seeded, q(state=["DELIVERED", "FAILED"])) == set()
    assert listed_log(postbox, seeded, q(fromDate=str(T0 + 500), toDate=str(T0 + 1500))) == {"b"}
    assert postbox.api("GET", "/v2/events?state=NOPE")[0] == 400


@pytest.mark.parametrize("field", sorted(LOG_FIELDS))
def test_each_cancel_filter(postbox, seeded, field):
    one, two = LOG_FIELDS[field]
    assert postbox.api("DELETE", f"/v2/messages?{q(**{field: one})}")[1] == {"cancelled": 1}
    assert pending(postbox, seeded) == {"b", "c"}
    assert postbox.api("DELETE", f"/v2/messages?{q(**{field: two})}")[1] == {"cancelled": 1}
    assert pending(postbox, seeded) == {"c"}


def test_cancel_by_ids_dates_and_both(postbox, seeded):
    ids = seeded.message
    body = json.dumps({"messageIds": [ids["a"], ids["b"]]}).encode()
    assert postbox.api("DELETE", "/v2/messages?label=lc", body=body)[1] == {"cancelled": 1}
    assert pending(postbox, seeded) == {"a", "c"}
    assert postbox.api("DELETE", f"/v2/messages?fromDate={T0 + 1}")[1] == {"cancelled": 1}
    assert pending(postbox, seeded) == {"a"}


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/v2/dlq"), ("POST", "/v2/dlq/retry")])
def test_the_dlq_bulk_routes_by_message_id_and_dates(postbox, seeded, method, path):
    assert postbox.api(method, f"{path}?{q(messageId=seeded.message['a'])}")[0] in (200, 201)
    assert listed_dlq(postbox, seeded, "") == {"b", "c"}
    assert postbox.api(method, f"{path}?{q(fromDate=str(T0 + 1500), toDate=str(T0 + 2500))}")[0] in (200, 201)
    assert listed_dlq(postbox, seeded, "") == {"b"}
    assert postbox.api(method, f"{path}?order=earliestFirst&count=1")[0] in (200, 201)
    assert listed_dlq(postbox, seeded, "") == set()
