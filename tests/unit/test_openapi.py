"""The OpenAPI document (functions/api/openapi.py), generated from the route table, against the resolver it
describes."""

from __future__ import annotations

import re
from typing import Any

import pytest

from functions.api.app import app
from functions.api.openapi import OPENAPI_PATH, build_document, documented_routes
from functions.api.routes.table import ROUTES
from functions.shared.config import Settings
from local_mode.backend import function_env

# A value for each path parameter that the route's pattern accepts.
SAMPLES = {
    "destination": "https://example.com/hook",
    "queueName": "orders",
    "name": "group-1",
    "scheduleId": "scd_1",
    "messageId": "msg_1",
    "dlqId": "1725323658779-0",
    "key": "tenant-1",
}


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings.model_validate({**function_env(None), "DELIVERY_QUEUE_URL": "http://127.0.0.1:1/queue"})


@pytest.fixture(scope="module")
def document(settings: Settings) -> dict[str, Any]:
    return build_document(settings)


def _routes() -> list[Any]:
    return [*app._static_routes, *app._dynamic_routes]


def _route_for(method: str, path: str) -> Any:
    """The route the resolver picks for a request (static routes first, then dynamic ones in order, as it does)."""
    matches = [r for r in _routes() if r.method == method.upper() and r.rule.match(path)]
    return matches[0] if matches else None


def test_every_documented_operation_is_served_by_the_handler_it_names() -> None:
    for op in documented_routes():
        path = re.sub(r"{(\w+)}", lambda m: SAMPLES[m.group(1)], op.openapi_path)
        route = _route_for(op.method, path)
        assert route is not None, f"{op.method} {op.path}: no route"
        assert route.func.__name__ == op.handler, f"{op.method} {op.path} is served by {route.func.__name__}"


def test_every_route_is_documented() -> None:
    documented = {(op.method, op.handler) for op in documented_routes()}
    served = {(route.method, route.func.__name__) for route in _routes()}
    undocumented = {(m, r.handler) for r in ROUTES if not r.documented for m in r.methods}
    assert undocumented == {("GET", "console"), ("HEAD", "console")}  # the web console's page and files
    assert served == documented | undocumented


def test_every_documented_operation_is_in_the_document(document: dict[str, Any]) -> None:
    documented = {(op.method.lower(), op.openapi_path) for op in documented_routes()}
    assert {(method, path) for path, ops in document["paths"].items() for method in ops} == documented


def test_operation_ids_are_unique_and_every_operation_answers_errors_as_documented(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert {"414", "431"} <= set(op["responses"]), (method, path)
            if path != OPENAPI_PATH:
                assert "401" in op["responses"] and "429" in op["responses"], (method, path)
                assert "security" not in op  # the document's: Bearer or ?qstash_token=
    assert document["paths"][OPENAPI_PATH]["get"]["security"] == []


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs(value)]
        return []

    for ref in refs(document):
        target: Any = document
        for part in ref.removeprefix("#/").split("/"):
            assert part in target, ref
            target = target[part]


def test_limits_come_from_the_settings(settings: Settings) -> None:
    tighter = settings.model_copy(update={"max_retries": 5})
    publish = build_document(tighter)["paths"]["/v2/publish/{destination}"]["post"]
    retries = next(p for p in publish["parameters"] if p["name"] == "Upstash-Retries")
    assert retries["schema"]["maximum"] == 5


def test_write_routes_and_the_signing_keys_document_the_read_only_refusal(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert "403" in paths["/v2/publish/{destination}"]["post"]["responses"]
    assert "403" in paths["/v2/keys"]["get"]["responses"]
    assert "403" not in paths["/v2/messages/{messageId}"]["get"]["responses"]


@pytest.mark.parametrize(
    ("method", "path", "fields"),
    [
        ("get", "/v2/dlq", "messageId url topicName scheduleId queueName callerIp label flowControlKey responseStatus"),
        ("delete", "/v2/dlq", "messageId url topicName scheduleId queueName callerIp label flowControlKey dlqIds"),
        ("post", "/v2/dlq/retry", "messageId url topicName scheduleId queueName label flowControlKey dlqIds"),
        ("get", "/v2/events", "messageId messageIds url host path topicName queueName callerIp label flowControlKey"),
        ("get", "/v2/logs", "messageIds state url host path topicName scheduleId queueName label flowControlKey"),
        ("delete", "/v2/messages", "messageIds url host path topicName queueName callerIp label flowControlKey count"),
    ],
)
def test_every_filter_of_a_list_or_bulk_route_is_documented(document, method, path, fields):
    params = {p["name"]: p for p in document["paths"][path][method]["parameters"] if p["in"] == "query"}
    assert set(fields.split()) | {"fromDate", "toDate"} <= set(params)
    assert params["label"]["schema"]["type"] == "array" and params["label"]["explode"] is True  # repeated


def test_answers_to_a_token_document_the_token_access_header(document: dict[str, Any]) -> None:
    header = document["components"]["headers"]["TokenAccess"]
    assert header["schema"]["enum"] == ["full", "read-only"]
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            ok = next(answer for code, answer in op["responses"].items() if code.startswith("2"))
            documented = "Postbox-Token-Access" in ok["headers"]
            assert documented is (path != OPENAPI_PATH), (method, path)
