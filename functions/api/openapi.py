"""The API's OpenAPI 3.1 document, generated from the route table (functions/api/routes/table.py) and the pydantic
models the routes validate with (`functions.api.requests`) and answer with (the `views` modules), with the limits
of the running settings.

Powertools generates a document from the resolver's route signatures, but Postbox's routes read the raw event (the
publish destination is the rest of the path, the body is raw bytes, bulk DELETEs take a JSON body or a query), so a
generated document would name none of their inputs; the table describes each route's instead.
`tests/unit/test_openapi.py` checks the document against the resolver; `tests/e2e/test_fuzz.py` checks the API
against it with schemathesis.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from functions.api.auth import TOKEN_ACCESS_HEADER, Access
from functions.api.requests import (
    BatchEntry,
    CancelRequest,
    DlqQuery,
    EndpointsRequest,
    EventQuery,
    PinQuery,
    QueueUpsertRequest,
    UnpinQuery,
)
from functions.api.route_spec import Caller, Route
from functions.api.routes.table import OPENAPI_PATH, ROUTES
from functions.api.schemas import REF, ref
from functions.events.views import EventsView, LogsView
from functions.flow.views import FlowControlView, GlobalParallelismView
from functions.messages.views import (
    CancelledView,
    DeletedView,
    DlqListView,
    DlqMessageView,
    ErrorView,
    MessageView,
    PublishedView,
    PublishResponse,
    RetriedView,
    SigningKeysView,
    V1ErrorView,
    V1MessageView,
)
from functions.queues.views import QueueView
from functions.schedules.views import ScheduleView
from functions.shared.config import Settings
from functions.topics.views import TopicView

__all__ = ["OPENAPI_PATH", "build_document", "document_json", "documented_routes"]

_REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    BatchEntry,
    CancelRequest,
    DlqQuery,
    EndpointsRequest,
    EventQuery,
    PinQuery,
    QueueUpsertRequest,
    UnpinQuery,
)
_RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    CancelledView,
    DeletedView,
    DlqListView,
    DlqMessageView,
    ErrorView,
    EventsView,
    FlowControlView,
    GlobalParallelismView,
    LogsView,
    MessageView,
    PublishedView,
    PublishResponse,
    QueueView,
    RetriedView,
    ScheduleView,
    SigningKeysView,
    TopicView,
    V1ErrorView,
    V1MessageView,
)


def documented_routes() -> list[Route]:
    """The routes the document describes, in the table's order (the console's files are no API operation)."""
    return [r for r in ROUTES if r.documented]


def _responses(op: Route) -> dict[str, Any]:
    status, schema = op.ok
    public = op.caller is Caller.PUBLIC
    headers = _REQUEST_ID if public else _REQUEST_ID | _TOKEN_ACCESS
    answer: dict[str, Any] = {"description": "OK", "headers": headers}
    if schema is not None:
        answer["content"] = {"application/json": {"schema": schema}}
    else:
        answer["description"] = "OK (empty body)"
    responses = {str(status): answer}
    for extra in op.also_ok:
        responses[str(extra)] = {**answer, "description": _DUPLICATE}
    prefix = "V1" if op.path.startswith("/v1/") else ""
    read_only_refused = op.caller is Caller.FULL
    json_body = (415,) if op.body and set(op.body) == {"application/json"} else ()  # sent as anything else
    for code in sorted({*op.errors, *((403,) if read_only_refused else ()), *json_body, *_HTTP_LIMITS}):
        responses[str(code)] = {"$ref": f"#/components/responses/{prefix}{code}"}
    return responses


_DUPLICATE = "A duplicate: the first message's id, with `deduplicated: true`"
_ERRORS = {
    400: "Bad input (nothing stored)",
    401: "Missing or invalid token",
    403: "A read-only token, on a route that writes or on the signing keys",
    404: "Not found",
    413: "Body too large (nothing stored)",
    415: "A JSON body sent as another media type than application/json (nothing stored)",
    429: "Rate limit exceeded (publish routes also carry QStash's RateLimit-* headers)",
    414: "Request line too long",
    431: "Request headers too large",
    503: "A transient failure of a backing service, or a concurrent change: try again (nothing stored)",
}
# Limits of the HTTP server in front (local mode's front door; API Gateway answers these itself when deployed).
_HTTP_LIMITS = (414, 431)
_REQUEST_ID = {"X-Request-Id": {"$ref": "#/components/headers/RequestId"}}
_TOKEN_ACCESS = {TOKEN_ACCESS_HEADER: {"$ref": "#/components/headers/TokenAccess"}}


def _error_responses() -> dict[str, Any]:
    responses = {}
    for prefix, model in (("", ErrorView), ("V1", V1ErrorView)):
        for code, text in _ERRORS.items():
            responses[f"{prefix}{code}"] = {
                "description": text,
                "headers": _REQUEST_ID,
                "content": {"application/json": {"schema": ref(model)}},
            }
    return responses


def build_document(settings: Settings, server_url: str = "/") -> dict[str, Any]:
    """The OpenAPI document of the API under `settings` (limits such as the retry maximum come from them)."""
    _, definitions = models_json_schema(
        [(model, "validation") for model in _REQUEST_MODELS] + [(model, "serialization") for model in _RESPONSE_MODELS],
        by_alias=True,
        ref_template=REF,
    )
    paths: dict[str, dict[str, Any]] = {}
    ops = documented_routes()
    handlers = [op.handler for op in ops]  # pause/resume of a schedule: one handler, two methods
    for op in ops:
        method = op.method.lower()
        doc: dict[str, Any] = {
            "operationId": op.handler if handlers.count(op.handler) == 1 else f"{op.handler}_{method}",
            "summary": op.summary,
            "tags": [op.tag],
            "responses": _responses(op),
        }
        if op.description:
            doc["description"] = op.description
        if params := op.parameters(settings):
            doc["parameters"] = [p.document() for p in params]
        if (body := op.request_body(settings)) is not None:
            doc["requestBody"] = {
                "required": op.body_required,
                "content": {media: {"schema": schema} for media, schema in body.items()},
            }
        if op.caller is Caller.PUBLIC:
            doc["security"] = []
        paths.setdefault(op.openapi_path, {})[method] = doc
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Postbox",
            "version": "2",
            "description": 'Self-hosted, QStash-compatible HTTP message delivery. Errors are `{"error": "..."}` '
            '(`{"error": {"code", "message"}, "meta"}` on /v1).',
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}, {"queryToken": []}],
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "responses": _error_responses(),
            "headers": {
                "RequestId": {
                    "description": "the request id (also the logs' correlation id)",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1},
                },
                "TokenAccess": {
                    "description": "what the request's token may do: `full`, or `read-only` (GET routes but the "
                    "signing keys); on every answer to a request with a valid token, errors too but for 429 and 503",
                    "required": True,
                    "schema": {"type": "string", "enum": [a.value for a in Access]},
                },
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <token>"},
                "queryToken": {"type": "apiKey", "in": "query", "name": "qstash_token"},
            },
        },
    }


@lru_cache(maxsize=4)
def document_json(settings: Settings) -> str:
    return json.dumps(build_document(settings), separators=(",", ":"))
