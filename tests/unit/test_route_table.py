"""The route table (functions/api/routes/table.py) and the forms its paths take for each of its readers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from functions.api.app import ROUTERS, app
from functions.api.auth import READ_ONLY_REFUSED_PATHS
from functions.api.route_spec import Caller, Route, resolver_rule, rule_pattern, snake
from functions.api.routes.table import ROUTES, is_public

ROOT = Path(__file__).parents[2]


def test_each_route_is_listed_once_and_its_handler_exists_in_its_features_module() -> None:
    keys = [(r.method, r.path) for r in ROUTES]
    assert len(keys) == len(set(keys))
    for route in ROUTES:
        module = ROUTERS[route.tag]
        assert callable(getattr(module, route.handler, None)), f"{route.handler} not in {module.__name__}"


def test_the_resolver_registers_exactly_the_routed_rows_in_the_tables_order() -> None:
    registered = [(r.method, r.rule.pattern, r.func.__name__) for r in [*app._dynamic_routes, *app._static_routes]]
    expected = [(m, app._compile_regex(resolver_rule(r, ROUTES)).pattern, r.handler) for r in ROUTES for m in r.methods]
    assert sorted(registered) == sorted(expected)
    dynamic = [r.func.__name__ for r in app._dynamic_routes]
    in_table = [r.handler for r in ROUTES if "<" in resolver_rule(r, ROUTES) for _ in r.methods]
    assert sorted(dynamic) == sorted(in_table)


def test_writes_need_a_full_token_and_reads_but_the_signing_keys_a_read_only_one() -> None:
    for route in ROUTES:
        if route.method != "GET":
            assert route.caller is Caller.FULL, (route.method, route.path)
    assert READ_ONLY_REFUSED_PATHS == ("/v2/keys",)  # the gate's refusals come from the table


def test_the_gate_routes_the_public_rows_without_a_token() -> None:
    public = {(r.method, r.path) for r in ROUTES if r.caller is Caller.PUBLIC}
    assert public == {("GET", "/openapi.json"), ("GET", "/console"), ("GET", "/console/{asset}")}
    for method, path in [("GET", "/openapi.json"), ("GET", "/console"), ("HEAD", "/console/"), ("GET", "/console/a/b")]:
        assert is_public(method, path), (method, path)
    for method, path in [
        ("POST", "/openapi.json"),
        ("HEAD", "/openapi.json"),
        ("POST", "/console"),
        ("GET", "/consoles"),
        ("GET", "/openapi.json/x"),
        ("GET", "/v2/keys"),
        ("GET", "/v2/nowhere"),
    ]:
        assert not is_public(method, path), (method, path)


def test_a_path_that_a_public_and_a_private_rule_both_match_is_not_public() -> None:
    # Given a table where a token-checked route's rule also matches a public route's path
    from functions.api.routes import table

    rows = (
        Route("GET", "/open", "h", Caller.PUBLIC, "s", "t"),
        Route("GET", "/{name}", "h", Caller.READ, "s", "t"),
    )
    patterns = tuple((r, rule_pattern(resolver_rule(r, rows))) for r in rows)

    # Then the gate checks its token, whichever the resolver would pick
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(table, "_PATTERNS", patterns)
        assert not table.is_public("GET", "/open")


@pytest.mark.parametrize(
    ("path", "openapi", "rule"),
    [
        ("/v2/messages/{messageId}", "/v2/messages/{messageId}", "/v2/messages/<message_id>"),
        ("/v2/queues/{queueName}/pause", "/v2/queues/{queueName}/pause", "/v2/queues/<queue_name>/pause"),
        ("/v2/publish/{destination+}", "/v2/publish/{destination}", "/v2/publish/.+"),
        ("/v2/enqueue/{queueName}/{destination+}", "/v2/enqueue/{queueName}/{destination}", "/v2/enqueue/.+"),
        ("/v2/batch", "/v2/batch", "/v2/batch"),
    ],
)
def test_one_path_three_forms(path: str, openapi: str, rule: str) -> None:
    route = Route("POST", path, "h", Caller.FULL, "s", "t")
    assert route.openapi_path == openapi
    assert resolver_rule(route, (route,)) == rule


def test_a_greedy_rule_keeps_off_the_other_routes_of_its_method_under_its_head() -> None:
    # Given the greedy create-schedule route beside the pause and resume routes of one schedule
    create = next(r for r in ROUTES if r.handler == "create_schedule")
    rule = re.compile(f"^{resolver_rule(create, ROUTES)}$")

    # Then a destination URL matches it, a schedule's pause or resume does not (whatever their order)
    assert rule.match("/v2/schedules/https://example.com/pause")
    assert rule.match("/v2/schedules/https%3A%2F%2Fexample.com")
    assert not rule.match("/v2/schedules/sched-1/pause") and not rule.match("/v2/schedules/sched-1/resume")


def test_handler_keywords_are_the_placeholders_in_snake_case() -> None:
    assert [snake(n) for n in ("messageId", "dlqId", "queueName", "key")] == [
        "message_id",
        "dlq_id",
        "queue_name",
        "key",
    ]


def test_the_table_imports_without_settings_or_clients() -> None:
    # Given a process with no Postbox setting, no AWS credential, and boto3 clients that fail when made
    code = (
        "import boto3, boto3.session\n"
        "def refuse(*a, **k): raise AssertionError('a boto3 client made at import')\n"
        "boto3.client = boto3.resource = refuse\n"
        "boto3.session.Session.client = boto3.session.Session.resource = refuse\n"
        "import functions.api.routes.table as t\n"
        "print(len(t.ROUTES))\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}

    # When the route table (what infra/constructs/api.py imports) is imported
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    # Then it loads and lists every route
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(ROUTES)
