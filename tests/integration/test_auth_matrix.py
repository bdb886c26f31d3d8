"""Every route against every kind of credential: none, a wrong one, a read-only token, the full token, in the
`Authorization` header and in `?qstash_token=`.

The matrix below classifies every route: a READ (a read-only token may call it), a WRITE (403 for a read-only
token), the signing keys (a read, but refused to read-only tokens) or PUBLIC (no token needed). It is checked
against the routes the resolver registers and against the route table (functions/api/routes/table.py: the routes
API Gateway forwards, and who may call each), so a new route fails here until it is classified. A refused
request answers a JSON error and changes nothing: every table (rate-limit counters aside), object, queue, schedule
and secret is compared before and after it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.api.auth import TOKEN_ACCESS_HEADER
from functions.api.route_spec import Caller
from functions.api.routes.table import ROUTES
from functions.composition.stores import Stores
from functions.core.models import AttemptResult, DlqEntry, MessageRequest
from functions.shared.config import get_settings
from functions.shared.ids import uuid7
from functions.shared.resources import BODIES_BUCKET, COUNTERS_TABLE, TABLES
from local_mode.backend import AUTH_SECRET, DEFAULT_SIGNING_KEYS, SIGNING_SECRET, LocalBackend, provision
from local_mode.frontdoor import build_event
from local_mode.lambda_context import LocalLambdaContext
from local_mode.runtime import reset_process_caches

FULL = "matrix-full-token"
READ_ONLY = "matrix-read-only-token"
WRONG = "matrix-wrong-token"
DEST = "http://127.0.0.1:9"  # loopback: allowed in local mode, never called (no worker runs here)


class Kind(Enum):
    READ = "read"
    WRITE = "write"
    KEYS = "signing keys"  # a read that a read-only token may not make
    PUBLIC = "public"


@dataclass(frozen=True)
class Call:
    method: str
    route: str  # as the route table names it (API Gateway's form); the resolver's own routes are matched by `path`
    path: str  # with {placeholders} for the ids the world seeds
    kind: Kind
    body: Any = None  # JSON-encoded when not bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.method} {self.route}"


R, W, K, P = Kind.READ, Kind.WRITE, Kind.KEYS, Kind.PUBLIC
# In an order where every call with the full token succeeds against one world (deletes come last).
MATRIX = (
    Call("GET", "/openapi.json", "/openapi.json", P),
    Call("GET", "/console", "/console", P),  # the web console's page and files, to GET and HEAD
    Call("HEAD", "/console", "/console", P),
    Call("GET", "/console/{asset}", "/console/console.js", P),
    Call("HEAD", "/console/{asset}", "/console/console.js", P),
    Call("POST", "/v2/publish/{destination+}", f"/v2/publish/{DEST}/hook?x=1", W, b"hello"),
    Call("POST", "/v2/enqueue/{queueName}/{destination+}", f"/v2/enqueue/orders/{DEST}/hook", W, b"hello"),
    Call("POST", "/v2/batch", "/v2/batch", W, [{"destination": f"{DEST}/batch", "body": "b"}]),
    Call("GET", "/v2/messages/{messageId}", "/v2/messages/{message}", R),
    Call("GET", "/v1/messages/{messageId}", "/v1/messages/{message}", R),
    Call("GET", "/v2/events", "/v2/events?count=5", R),
    Call("GET", "/v2/logs", "/v2/logs", R),
    Call("GET", "/v2/dlq", "/v2/dlq?count=10", R),
    Call("GET", "/v2/dlq/{dlqId}", "/v2/dlq/{dlq_get}", R),
    Call("GET", "/v2/keys", "/v2/keys", K),
    Call("GET", "/v2/topics", "/v2/topics", R),
    Call("GET", "/v2/topics/{name}", "/v2/topics/group", R),
    Call("GET", "/v2/queues", "/v2/queues", R),
    Call("GET", "/v2/queues/{queueName}", "/v2/queues/orders", R),
    Call("GET", "/v2/schedules", "/v2/schedules", R),
    Call("GET", "/v2/schedules/{scheduleId}", "/v2/schedules/sched-1", R),
    Call("GET", "/v2/flowControl", "/v2/flowControl", R),
    Call("GET", "/v2/flowControl/{key}", "/v2/flowControl/fck", R),
    Call("GET", "/v2/globalParallelism", "/v2/globalParallelism", R),
    Call("POST", "/v2/keys/rotate", "/v2/keys/rotate", W),
    Call("POST", "/v2/topics/{name}/endpoints", "/v2/topics/group/endpoints", W, {"endpoints": [{"url": f"{DEST}/c"}]}),
    Call(
        "DELETE", "/v2/topics/{name}/endpoints", "/v2/topics/group/endpoints", W, {"endpoints": [{"url": f"{DEST}/b"}]}
    ),
    Call("POST", "/v2/queues", "/v2/queues", W, {"queueName": "new-queue", "parallelism": 2}),
    Call("POST", "/v2/queues/{queueName}/pause", "/v2/queues/orders/pause", W),
    Call("POST", "/v2/queues/{queueName}/resume", "/v2/queues/orders/resume", W),
    Call("POST", "/v2/schedules/{destination+}", f"/v2/schedules/{DEST}/cron", W, b"", {"Upstash-Cron": "*/5 * * * *"}),
    Call("PATCH", "/v2/schedules/{scheduleId}/pause", "/v2/schedules/sched-1/pause", W),
    Call("PATCH", "/v2/schedules/{scheduleId}/resume", "/v2/schedules/sched-1/resume", W),
    Call("POST", "/v2/schedules/{scheduleId}/pause", "/v2/schedules/sched-1/pause", W),
    Call("POST", "/v2/schedules/{scheduleId}/resume", "/v2/schedules/sched-1/resume", W),
    Call("POST", "/v2/flowControl/{key}/pause", "/v2/flowControl/fck/pause", W),
    Call("POST", "/v2/flowControl/{key}/resume", "/v2/flowControl/fck/resume", W),
    Call("POST", "/v2/flowControl/{key}/pin", "/v2/flowControl/fck/pin?parallelism=2", W),
    Call("POST", "/v2/flowControl/{key}/unpin", "/v2/flowControl/fck/unpin?parallelism=true", W),
    Call("POST", "/v2/flowControl/{key}/resetRate", "/v2/flowControl/fck/resetRate", W),
    Call("POST", "/v2/dlq/retry/{dlqId}", "/v2/dlq/retry/{dlq_retry}", W),
    Call("POST", "/v2/dlq/retry", "/v2/dlq/retry?dlqIds={dlq_retry_bulk}", W),
    Call("DELETE", "/v2/dlq/{dlqId}", "/v2/dlq/{dlq_delete}", W),
    Call("DELETE", "/v2/dlq", "/v2/dlq", W, {"dlqIds": ["{dlq_delete_bulk}"]}),
    Call("DELETE", "/v2/messages/{messageId}", "/v2/messages/{message_cancel}", W),
    Call("DELETE", "/v2/messages", "/v2/messages", W, {"messageIds": ["{message_bulk}"]}),
    Call("DELETE", "/v2/topics/{name}", "/v2/topics/doomed-group", W),
    Call("DELETE", "/v2/queues/{queueName}", "/v2/queues/doomed", W),
    Call("DELETE", "/v2/schedules/{scheduleId}", "/v2/schedules/sched-doomed", W),
)
GUARDED = [c for c in MATRIX if c.kind is not P]
INVALID_CREDENTIALS: dict[str, dict[str, str]] = {
    "no token": {},
    "wrong token": {"bearer": WRONG},
    "wrong query token": {"query_token": WRONG},
    "full token minus a character": {"bearer": FULL[:-1]},
    "full token plus a character": {"bearer": FULL + "x"},
    "full token in another case": {"bearer": FULL.upper()},
    "basic auth": {"Authorization": "Basic " + base64.b64encode(FULL.encode()).decode()},
    "no scheme": {"Authorization": FULL},
}
REFUSED_TO_READ_ONLY = [c for c in MATRIX if c.kind in (W, K)]
READS = [c for c in MATRIX if c.kind is R]


# --- the world: one backend with something for every route to read or change -----------------------------


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class World:
    backend: LocalBackend
    ids: dict[str, str] = field(default_factory=dict)
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        # (boto3's stubs type `client` per literal service name)
        return self.clients.setdefault(service, boto3.client(service))  # type: ignore[call-overload]

    def fill(self, text: str) -> str:
        for name, value in self.ids.items():
            text = text.replace("{" + name + "}", value)
        return text

    def send(self, call: Call, *, bearer: str | None = None, query_token: str | None = None, **extra: str) -> Answer:
        target = self.fill(call.path)
        if query_token is not None:
            target += ("&" if "?" in target else "?") + f"qstash_token={query_token}"
        headers = dict(call.headers) | extra
        if call.body is not None and not isinstance(call.body, bytes):
            headers.setdefault("Content-Type", "application/json")
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        body = call.body if isinstance(call.body, bytes) or call.body is None else self.fill(json.dumps(call.body))
        return self.request(call.method, target, headers, body.encode() if isinstance(body, str) else body or b"")

    def request(self, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> Answer:
        from functions.api.handler import lambda_handler

        event = build_event(method, target, list(headers.items()), body, "198.51.100.20")
        result = lambda_handler(event, LocalLambdaContext("postbox-api"))
        raw = result.get("body") or ""
        headers = result.get("headers", {})
        is_json = str(headers.get("Content-Type", "application/json")).startswith("application/json")
        return Answer(result["statusCode"], (json.loads(raw) if is_json else raw) if raw else None, headers)


def _seed(world: World) -> None:
    def ok(method: str, target: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
        json_type = {} if isinstance(body, bytes) or body is None else {"Content-Type": "application/json"}
        answer = world.request(
            method, target, {"Authorization": f"Bearer {FULL}", **json_type, **(headers or {})}, payload
        )
        assert answer.status < 300, (method, target, answer)
        return answer.body

    for name in ("message", "message_cancel", "message_bulk"):
        world.ids[name] = ok("POST", f"/v2/publish/{DEST}/{name}", b"seed")["messageId"]
    ok(
        "POST",
        f"/v2/publish/{DEST}/flow",
        b"f",
        {"Upstash-Flow-Control-Key": "fck", "Upstash-Flow-Control-Value": "parallelism=1"},
    )
    for queue in ("orders", "doomed"):
        ok("POST", "/v2/queues", {"queueName": queue, "parallelism": 1})
    ok("POST", "/v2/topics/group/endpoints", {"endpoints": [{"url": f"{DEST}/a"}, {"url": f"{DEST}/b"}]})
    ok("POST", "/v2/topics/doomed-group/endpoints", {"endpoints": [{"url": f"{DEST}/a"}]})
    for schedule in ("sched-1", "sched-doomed"):
        ok("POST", f"/v2/schedules/{DEST}/cron", b"", {"Upstash-Cron": "0 * * * *", "Upstash-Schedule-Id": schedule})
    dlq = Stores(get_settings()).dlq
    client = boto3.client("dynamodb")
    for name in ("dlq_get", "dlq_retry", "dlq_retry_bulk", "dlq_delete", "dlq_delete_bulk"):
        at = 1_800_000_000_000
        request = MessageRequest(
            message_id=uuid7(), url=f"{DEST}/dead", body=b"d", not_before_ms=at, created_at_ms=at, max_retries=0
        )
        entry = DlqEntry(dlq_id=str(uuid7()), request=request, response=AttemptResult(status=500), created_at_ms=at)
        client.put_item(**dlq.put_in_transaction(entry, 4_000_000_000_000)["Put"])
        world.ids[name] = entry.dlq_id


@pytest.fixture(scope="class")
def world() -> Iterator[World]:
    with mock_aws(), pytest.MonkeyPatch.context() as env:
        backend = provision(None, FULL, DEFAULT_SIGNING_KEYS, READ_ONLY)
        for name, value in backend.env.items():
            env.setenv(name, value)
        env.setenv("SECRET_CACHE_SECONDS", "0")
        reset_process_caches()
        built = World(backend)
        _seed(built)
        yield built
    reset_process_caches()


@pytest.fixture(scope="class")
def unchanged(world: World) -> dict[str, Any]:
    """The world as seeded: what it must still be after any refused request or read."""
    return snapshot(world)


def snapshot(world: World) -> dict[str, Any]:
    """Everything a request could change, rate-limit counters aside (a refused request is still counted)."""
    env = world.backend.env
    dynamodb = world.client("dynamodb")
    state: dict[str, Any] = {}
    for table in TABLES:
        items = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=env[table.env_var]):
            items += [json.dumps(i, sort_keys=True, default=repr) for i in page["Items"]]
        if table is COUNTERS_TABLE:
            items = [i for i in items if '"ratelimit#' not in i]
        state[table.logical_id] = sorted(items)
    s3 = world.client("s3").list_objects_v2(Bucket=env[BODIES_BUCKET.env_var]).get("Contents", [])
    state["s3"] = sorted((o["Key"], o["ETag"]) for o in s3)
    attributes = world.client("sqs").get_queue_attributes(QueueUrl=env["DELIVERY_QUEUE_URL"], AttributeNames=["All"])
    state["sqs"] = {k: v for k, v in attributes["Attributes"].items() if k.startswith("ApproximateNumberOfMessages")}
    scheduler = world.client("scheduler")
    state["schedules"] = sorted(
        json.dumps(
            {
                k: v
                for k, v in scheduler.get_schedule(Name=s["Name"], GroupName=s["GroupName"]).items()
                if k != "ResponseMetadata"
            },
            sort_keys=True,
            default=str,
        )
        for s in scheduler.list_schedules()["Schedules"]
    )
    secrets = world.client("secretsmanager")
    state["secrets"] = [secrets.get_secret_value(SecretId=s)["SecretString"] for s in (AUTH_SECRET, SIGNING_SECRET)]
    return state


def resolver_routes() -> list[Any]:
    from functions.api.app import app

    routes = app._static_routes + app._dynamic_routes  # noqa: SLF001 - the order the resolver matches in
    assert routes, "the resolver's routes moved: update resolver_routes()"
    return routes


def resolved(method: str, path: str) -> Any:
    """The route the resolver picks for a request (its own matching: static routes first, by method and rule)."""
    return next((r for r in resolver_routes() if r.method == method and r.rule.match(path)), None)


def shape(body: Any) -> Any:
    return sorted(body) if isinstance(body, dict) else len(body) if isinstance(body, list) else body


def assert_refusal(answer: Answer, status: int, call: Call, credentials: str) -> None:
    assert answer.status == status, (call.id, credentials, answer)
    assert answer.headers.get("Content-Type") == "application/json", answer.headers
    assert answer.headers.get("X-Request-Id")
    # the token's kind is named when the token is valid (a read-only one refused), never without one
    assert answer.headers.get(TOKEN_ACCESS_HEADER) == ("read-only" if status == 403 else None), answer.headers
    if call.path.startswith("/v1/"):
        assert set(answer.body) == {"error", "meta"} and answer.body["error"]["message"], answer.body
    else:
        assert set(answer.body) == {"error"} and isinstance(answer.body["error"], str) and answer.body["error"]


# --- the matrix is complete ----------------------------------------------------------------------------


def test_every_resolver_route_is_classified():
    def concrete(path: str) -> str:
        return re.sub(r"\{\w+\}", str(uuid7()), path).partition("?")[0]

    hit = {id(resolved(c.method, concrete(c.path))): c for c in MATRIX}
    unclassified = [f"{r.method} {r.path}" for r in resolver_routes() if id(r) not in hit]
    assert not unclassified, f"routes the auth matrix does not classify (add them to MATRIX): {unclassified}"
    stale = [c.id for c in MATRIX if c.kind is not P and resolved(c.method, concrete(c.path)) is None]
    assert not stale, f"MATRIX calls that match no route: {stale}"


def test_every_route_of_the_table_is_classified_once():
    classified = [(c.method, c.route) for c in MATRIX]
    table = {(method, r.path) for r in ROUTES for method in r.methods}
    assert len(classified) == len(set(classified)), "a route classified twice"
    missing = sorted(table - set(classified))
    assert not missing, (
        f"the route table (API Gateway's routes) has routes the auth matrix does not classify: {missing}"
    )
    stale = sorted(set(classified) - table)
    assert not stale, f"MATRIX routes the route table does not have: {stale}"


def test_the_table_says_who_may_call_each_route_as_the_matrix_does():
    expected = {P: Caller.PUBLIC, R: Caller.READ, W: Caller.FULL, K: Caller.FULL}
    callers = {(method, r.path): r.caller for r in ROUTES for method in r.methods}
    wrong = [c.id for c in MATRIX if callers.get((c.method, c.route)) is not expected[c.kind]]
    assert not wrong, f"routes the table gives another caller than the matrix: {wrong}"


def test_reads_are_get_and_the_rest_are_not():
    assert all(c.method == "GET" for c in MATRIX if c.kind in (R, K))
    assert all(c.method in ("GET", "HEAD") for c in MATRIX if c.kind is P)  # the console's files answer HEAD
    assert all(c.method != "GET" for c in MATRIX if c.kind is W)


# --- refusals: 401 / 403, a JSON error, nothing changed --------------------------------------------------


class TestRefused:
    @pytest.mark.parametrize("call", GUARDED, ids=lambda c: c.id)
    def test_without_a_valid_token_401(self, world, unchanged, call):
        for name, credentials in INVALID_CREDENTIALS.items():
            assert_refusal(world.send(call, **credentials), 401, call, name)
        assert snapshot(world) == unchanged

    @pytest.mark.parametrize("call", REFUSED_TO_READ_ONLY, ids=lambda c: c.id)
    def test_read_only_token_on_a_write_403(self, world, unchanged, call):
        for name, credentials in {"header": {"bearer": READ_ONLY}, "query": {"query_token": READ_ONLY}}.items():
            answer = world.send(call, **credentials)
            assert_refusal(answer, 403, call, name)
            assert "read-only" in json.dumps(answer.body)
        assert snapshot(world) == unchanged

    def test_an_unknown_route_is_refused_before_it_is_looked_up(self, world, unchanged):
        for method in ("GET", "POST", "DELETE"):
            assert world.request(method, "/v2/nowhere", {}).status == 401
            assert world.request(method, "/v2/nowhere", {"Authorization": f"Bearer {WRONG}"}).status == 401
        assert world.request("POST", "/v2/nowhere", {"Authorization": f"Bearer {READ_ONLY}"}).status == 403
        found = world.request("GET", "/v2/nowhere", {"Authorization": f"Bearer {READ_ONLY}"})
        assert found.status == 404 and set(found.body) == {"error"}
        assert found.headers[TOKEN_ACCESS_HEADER] == "read-only"
        assert snapshot(world) == unchanged

    def test_a_bad_request_without_a_token_is_401_not_400(self, world, unchanged):
        for method, target, body in [
            ("POST", "/v2/batch", b"not json"),
            ("POST", "/v2/queues", b'{"parallelism": "many"}'),
            ("GET", "/v2/dlq?count=-1", b""),
            ("POST", "/v2/publish/not-a-url", b""),
        ]:
            assert world.request(method, target, {}, body).status == 401
        assert snapshot(world) == unchanged


# --- a read-only token reads ------------------------------------------------------------------------------


class TestReadOnly:
    @pytest.mark.parametrize("call", READS, ids=lambda c: c.id)
    @pytest.mark.parametrize("form", ["header", "query"])
    def test_read_only_token_reads(self, world, unchanged, call, form):
        answer = world.send(call, **({"bearer": READ_ONLY} if form == "header" else {"query_token": READ_ONLY}))
        assert answer.status == 200, (call.id, answer)
        assert answer.body is not None
        assert snapshot(world) == unchanged
        full = world.send(call, bearer=FULL)
        assert full.status == answer.status and shape(full.body) == shape(answer.body)  # values may tick (time)
        assert (answer.headers[TOKEN_ACCESS_HEADER], full.headers[TOKEN_ACCESS_HEADER]) == ("read-only", "full")

    def test_a_read_only_token_is_rate_limited_as_itself(self, world):
        # When a read-only token calls, in the header or the query
        for credentials in ({"bearer": READ_ONLY}, {"query_token": READ_ONLY}):
            assert "X-RateLimit-Remaining" in world.send(READS[0], **credentials).headers

        # Then its requests are counted against its own key (its hash), as a full token's are, not its address
        counters = boto3.client("dynamodb").scan(TableName=world.backend.env[COUNTERS_TABLE.env_var])["Items"]
        keys = {item["pk"]["S"].rsplit("#", 1)[0] for item in counters if item["pk"]["S"].startswith("ratelimit#")}
        assert "ratelimit#token#" + hashlib.sha256(READ_ONLY.encode()).hexdigest()[:32] in keys


# --- the full token, in the query as in the header -------------------------------------------------------


class TestFullTokenInTheQuery:
    @pytest.mark.parametrize("call", GUARDED, ids=lambda c: c.id)
    def test_full_token_in_the_query(self, world, call):
        if call.kind is not W:
            header = world.send(call, bearer=FULL)
            query = world.send(call, query_token=FULL)
            assert query.status == header.status == 200, (call.id, query, header)
            assert header.headers[TOKEN_ACCESS_HEADER] == query.headers[TOKEN_ACCESS_HEADER] == "full"
            if call.kind is K:
                assert query.body == header.body and set(query.body) == {"current", "next"}
            return
        answer = world.send(call, query_token=FULL)
        assert answer.status < 300, (call.id, answer)
        if call.route == "/v2/publish/{destination+}":  # the token is not part of the destination
            assert answer.body["url"] == f"{DEST}/hook?x=1"
            stored = world.send(Call("GET", "", "/v2/messages/" + answer.body["messageId"], R), bearer=FULL)
            assert FULL not in json.dumps(stored.body)


class TestPublic:
    @pytest.mark.parametrize("call", [c for c in MATRIX if c.kind is P], ids=lambda c: c.id)
    def test_public_routes_need_no_token(self, world, call):
        assert resolved(call.method, call.path) is not None, call.id
        for credentials in ({}, {"bearer": WRONG}, {"bearer": READ_ONLY}, {"bearer": FULL}):
            answer = world.send(call, **credentials)
            assert answer.status == 200 and TOKEN_ACCESS_HEADER not in answer.headers  # no token checked

    def test_the_console_is_public_only_to_read(self, world, unchanged):
        # The page and its files, with the console's CSP; anything else under /console is an API call like any other
        page = world.request("GET", "/console", {})
        assert page.status == 200 and "<!DOCTYPE html>" in page.body
        assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert world.request("GET", "/console/nothing.js", {}).status == 404
        for method in ("POST", "DELETE", "PATCH"):
            assert world.request(method, "/console", {}).status == 401
            assert world.request(method, "/console/console.js", {"Authorization": f"Bearer {READ_ONLY}"}).status == 403
        assert snapshot(world) == unchanged
