"""The API's OpenAPI 3.1 document: every route's path, query, headers, body and answers.

Powertools generates a document from the resolver's route signatures, but Postbox's handlers read the raw event
(the publish destination is the rest of the path, the body is raw bytes, bulk DELETEs take a JSON body or a
query), so a generated document would name none of their inputs. This one is written per route instead, from
the pydantic models the handlers validate with (`functions.api.requests`) and answer with (the `views` modules),
and with the limits of the running settings. `tests/unit/test_openapi.py` checks that it documents every route of
the resolver and nothing else; `tests/e2e/test_fuzz.py` checks the API against it with schemathesis.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from functions.api.auth import TOKEN_ACCESS_HEADER, Access, permits
from functions.api.requests import (
    MAX_ID_LENGTH,
    BatchEntry,
    CancelRequest,
    DlqQuery,
    EndpointsRequest,
    EventQuery,
    PinQuery,
    QueueUpsertRequest,
    UnpinQuery,
)
from functions.core.durations import MAX_DELAY_S
from functions.events.views import EventsView, LogsView
from functions.flow.views import FlowControlView, GlobalParallelismView
from functions.messages.publish import METHODS
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

OPENAPI_PATH = "/openapi.json"
JsonSchema = dict[str, Any]

_REF = "#/components/schemas/{model}"
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

# QStash's rule for queue, schedule and URL group names (functions.topics.models.validate_name).
NAME = {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$"}
ID = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}
DURATION = {"type": "string", "pattern": "^[0-9]+([smhd]([0-9]+[smhd])*)?$", "examples": ["10s", "1h30m", "2d"]}
URL = {
    "type": "string",
    "pattern": "^https?://[A-Za-z0-9.-]+(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~/-]*)?$",
    "examples": ["http://127.0.0.1:9000/hook"],
}
UNIX_MS = {"type": "integer", "minimum": 0, "description": "unix milliseconds"}


def _ref(model: type[BaseModel]) -> JsonSchema:
    return {"$ref": _REF.format(model=model.__name__)}


def _array(items: JsonSchema) -> JsonSchema:
    return {"type": "array", "items": items}


@dataclass(frozen=True)
class Param:
    name: str
    where: Literal["path", "query", "header"]
    schema: JsonSchema
    description: str = ""
    required: bool = False

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name, "in": self.where, "schema": self.schema}
        if self.where == "path" or self.required:
            doc["required"] = True
        if self.description:
            doc["description"] = self.description
        if self.where == "query" and self.schema.get("type") == "array":
            doc |= {"style": "form", "explode": True}  # repeated (`?dlqIds=a&dlqIds=b`); commas work too
        return doc


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    handler: str  # the resolver's handler function (tests/unit/test_openapi.py matches the two)
    summary: str
    tag: str
    ok: tuple[int, JsonSchema | None] = (200, None)  # None: an empty body
    params: tuple[Param, ...] = ()
    body: dict[str, JsonSchema] | None = None  # media type -> schema
    body_required: bool = False
    errors: tuple[int, ...] = (401, 429)
    also_ok: tuple[int, ...] = ()  # further success statuses with the same body (202 for a duplicate publish)
    public: bool = False
    description: str = ""


def _path(name: str, description: str, schema: JsonSchema = ID) -> Param:
    return Param(name, "path", schema, description)


def _header(name: str, schema: JsonSchema, description: str = "", required: bool = False) -> Param:
    return Param(name, "header", schema, description, required)


def _query_params(model: type[BaseModel], *, skip: tuple[str, ...] = (), **overrides: JsonSchema) -> tuple[Param, ...]:
    """One query parameter per field of a request model, as its alias; `null` is not a query value."""
    schema = model.model_json_schema(by_alias=True, ref_template=_REF)
    params = []
    for name, prop in schema["properties"].items():
        if name in skip:
            continue
        params.append(Param(name, "query", overrides.get(name) or _query_schema(prop), prop.get("description", "")))
    return tuple(params)


def _query_schema(prop: JsonSchema) -> JsonSchema:
    options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
    chosen: JsonSchema = dict(options[0]) if len(options) == 1 else {"anyOf": options}
    for key in ("title", "default", "description"):
        chosen.pop(key, None)
    if chosen.get("type") == "array":  # `?ids=a,,b` and `?ids=`: the query form ignores empty values
        items: JsonSchema = chosen["items"]
        chosen["items"] = {k: v for k, v in items.items() if k != "minLength"}
    return chosen


def _publish_headers(settings: Settings) -> tuple[Param, ...]:
    retries = {"type": "integer", "minimum": 0, "maximum": settings.max_retries}
    callback = "Upstash-Callback-{Method,Retries,Timeout,Retry-Delay} and Upstash-Callback-Forward-<Name> configure it"
    return (
        _header("Upstash-Method", {"type": "string", "enum": sorted(METHODS)}, "method toward the destination"),
        _header("Upstash-Delay", DURATION, f"deliver after this long (at most {MAX_DELAY_S // 86400}d)"),
        _header(
            "Upstash-Not-Before",
            {"type": "integer", "minimum": 0},
            f"deliver at (unix seconds; at most {MAX_DELAY_S // 86400} days ahead); wins over Upstash-Delay",
        ),
        _header("Upstash-Retries", retries, f"retries after the first attempt (default {settings.default_retries})"),
        _header(
            "Upstash-Retry-Delay",
            {"type": "string", "minLength": 1, "examples": ["pow(2, retried) * 1000"]},
            "backoff in ms as an expression of `retried`",
        ),
        _header("Upstash-Timeout", DURATION, "per-attempt timeout"),
        _header("Upstash-Callback", URL, f"called after every attempt; {callback}"),
        _header("Upstash-Failure-Callback", URL, "called once the retries are spent (Upstash-Failure-Callback-...)"),
        _header("Upstash-Deduplication-Id", {"type": "string", "minLength": 1, "maxLength": 512}),
        _header("Upstash-Content-Based-Deduplication", {"type": "string", "enum": ["true", "false"]}),
        _header("Upstash-Label", {"type": "string"}),
        _header("Upstash-Flow-Control-Key", {"type": "string", "minLength": 1, "maxLength": 256}),
        _header(
            "Upstash-Flow-Control-Value",
            {"type": "string", "examples": ["parallelism=3, rate=4, period=2s"]},
            "needs Upstash-Flow-Control-Key",
        ),
    )


_PUBLISH_BODY = {
    "application/octet-stream": {"type": "string", "format": "binary"},
    "text/plain": {"type": "string"},
    "application/json": {},
}
_PUBLISH_DESCRIPTION = (
    "The request body is stored and sent as it is. Headers named `Upstash-Forward-<Name>` are sent to the "
    "destination as `<Name>`; the destination's own query string is kept."
)
_DESTINATION = _path(
    "destination",
    "a full http(s) URL (as it is, or percent-encoded), or the name of a URL group",
    {"anyOf": [URL, NAME]},
)
_PUBLISHED = {"anyOf": [_ref(PublishResponse), _array(_ref(PublishResponse))]}


def operations(settings: Settings) -> tuple[Operation, ...]:
    """Every route of the API, as the document describes it."""
    publish = _publish_headers(settings)
    parallelism = {"type": "integer", "minimum": 1, "maximum": settings.max_queue_parallelism}
    cancel_query = _query_params(CancelRequest)
    dlq_query = _query_params(DlqQuery)
    states = _array({"type": "string", "enum": sorted(_event_states())})
    events_query = _query_params(EventQuery, count={"type": "integer", "minimum": 1, "maximum": 1000}, state=states)
    logs_query = _query_params(EventQuery, count={"type": "integer", "minimum": 1, "maximum": 100}, state=states)
    message_id = _path("messageId", "a message id, or the deduplication id it was published with")
    dlq_id = _path("dlqId", "a DLQ entry's id")
    queue = _path("queueName", "a queue's name", NAME)
    topic = _path("name", "a URL group's name", NAME)
    schedule = _path("scheduleId", "a schedule's id", NAME)
    key = _path("key", "a flow-control key", {"type": "string", "minLength": 1, "maxLength": 256})
    body_errors = (400, 401, 413, 429, 503)
    return (
        Operation(
            "get",
            OPENAPI_PATH,
            "openapi_document",
            "This document",
            "meta",
            ok=(200, {"type": "object"}),
            errors=(429,),
            public=True,
        ),
        # --- publishing
        Operation(
            "post",
            "/v2/publish/{destination}",
            "publish",
            "Publish a message to a URL, or to every endpoint of a URL group",
            "publish",
            ok=(200, _PUBLISHED),
            also_ok=(202,),
            params=(_DESTINATION, *publish),
            body=_PUBLISH_BODY,
            errors=body_errors,
            description=_PUBLISH_DESCRIPTION + " A duplicate (same deduplication id) answers 202.",
        ),
        Operation(
            "post",
            "/v2/enqueue/{queueName}/{destination}",
            "enqueue",
            "Publish into a FIFO queue (created with parallelism 1 if it does not exist)",
            "publish",
            ok=(200, _PUBLISHED),
            also_ok=(202,),
            params=(_path("queueName", "the queue's name", NAME), _DESTINATION, *publish),
            body=_PUBLISH_BODY,
            errors=body_errors,
            description=_PUBLISH_DESCRIPTION,
        ),
        Operation(
            "post",
            "/v2/batch",
            "batch",
            "Publish many messages; every entry is validated before any is stored",
            "publish",
            ok=(200, _array({"anyOf": [_ref(PublishResponse), _array(_ref(PublishResponse))]})),
            body={"application/json": _array(_ref(BatchEntry))},
            body_required=True,
            errors=body_errors,
        ),
        # --- messages
        Operation(
            "get",
            "/v2/messages/{messageId}",
            "get_message",
            "A message (finished ones for a short grace period)",
            "messages",
            ok=(200, _ref(MessageView)),
            params=(message_id,),
            errors=(400, 401, 404, 429),
        ),
        Operation(
            "get",
            "/v1/messages/{messageId}",
            "get_message_v1",
            "A message's delivery details, for the whole retention period",
            "messages",
            ok=(200, _ref(V1MessageView)),
            params=(message_id,),
            errors=(400, 401, 404, 429),
        ),
        Operation(
            "delete",
            "/v2/messages/{messageId}",
            "cancel_message",
            "Cancel a message",
            "messages",
            ok=(200, _ref(CancelledView)),
            params=(message_id,),
            errors=(400, 401, 404, 429),
        ),
        Operation(
            "delete",
            "/v2/messages",
            "cancel_messages",
            "Cancel messages by id, or the pending ones matching the filters (none: every pending message)",
            "messages",
            ok=(200, _ref(CancelledView)),
            params=cancel_query,
            body={"application/json": _ref(CancelRequest)},
            errors=(400, 401, 429),
        ),
        # --- event log
        Operation(
            "get",
            "/v2/events",
            "list_events",
            "The event log, newest first (as the SDKs read it)",
            "logs",
            ok=(200, _ref(EventsView)),
            params=events_query,
            errors=(400, 401, 429),
        ),
        Operation(
            "get",
            "/v2/logs",
            "list_logs",
            "The event log, newest first",
            "logs",
            ok=(200, _ref(LogsView)),
            params=logs_query,
            errors=(400, 401, 429),
        ),
        # --- DLQ
        Operation(
            "get",
            "/v2/dlq",
            "list_dlq",
            "The DLQ, newest first: the entries named by dlqIds, or a page of those matching the filters",
            "dlq",
            ok=(200, _ref(DlqListView)),
            params=dlq_query,
            errors=(400, 401, 429),
        ),
        Operation(
            "get",
            "/v2/dlq/{dlqId}",
            "get_dlq_message",
            "A DLQ entry",
            "dlq",
            ok=(200, _ref(DlqMessageView)),
            params=(dlq_id,),
            errors=(400, 401, 404, 429),
        ),
        Operation(
            "delete",
            "/v2/dlq/{dlqId}",
            "delete_dlq_message",
            "Remove a DLQ entry",
            "dlq",
            params=(dlq_id,),
            errors=(400, 401, 404, 429),
        ),
        Operation(
            "delete",
            "/v2/dlq",
            "delete_dlq_messages",
            "Remove DLQ entries by id, or a page of those matching the filters",
            "dlq",
            ok=(200, _ref(DeletedView)),
            params=dlq_query,
            body={"application/json": _ref(DlqQuery)},
            errors=(400, 401, 429),
        ),
        Operation(
            "post",
            "/v2/dlq/retry/{dlqId}",
            "retry_dlq_message",
            "Publish a DLQ entry's message again and remove the entry",
            "dlq",
            ok=(201, _ref(PublishedView)),
            params=(dlq_id,),
            errors=(400, 401, 404, 429, 503),
        ),
        Operation(
            "post",
            "/v2/dlq/retry",
            "retry_dlq_messages",
            "Publish DLQ entries again by id, or a page of those matching the filters",
            "dlq",
            ok=(201, _ref(RetriedView)),
            params=dlq_query,
            body={"application/json": _ref(DlqQuery)},
            errors=(400, 401, 429, 503),
        ),
        # --- signing keys
        Operation("get", "/v2/keys", "get_keys", "The signing keys", "keys", ok=(200, _ref(SigningKeysView))),
        Operation(
            "post",
            "/v2/keys/rotate",
            "rotate_keys",
            "Rotate the signing keys: next becomes current, and a new next is made",
            "keys",
            ok=(200, _ref(SigningKeysView)),
        ),
        # --- URL groups
        Operation(
            "post",
            "/v2/topics/{name}/endpoints",
            "upsert_endpoints",
            "Add or update endpoints of a URL group (creates it)",
            "url groups",
            params=(topic,),
            body={"application/json": _ref(EndpointsRequest)},
            body_required=True,
            errors=(400, 401, 429, 503),
        ),
        Operation(
            "delete",
            "/v2/topics/{name}/endpoints",
            "remove_endpoints",
            "Remove endpoints (by url or name) from a URL group; an emptied group is deleted",
            "url groups",
            params=(topic,),
            body={"application/json": _ref(EndpointsRequest)},
            body_required=True,
            errors=(400, 401, 404, 429, 503),
        ),
        Operation(
            "get", "/v2/topics", "list_topics", "The URL groups", "url groups", ok=(200, _array(_ref(TopicView)))
        ),
        Operation(
            "get",
            "/v2/topics/{name}",
            "get_topic",
            "A URL group",
            "url groups",
            ok=(200, _ref(TopicView)),
            params=(topic,),
            errors=(400, 401, 404, 429),
        ),
        Operation(
            "delete",
            "/v2/topics/{name}",
            "delete_topic",
            "Delete a URL group (a missing one too)",
            "url groups",
            params=(topic,),
            errors=(400, 401, 429),
        ),
        # --- queues
        Operation(
            "post",
            "/v2/queues",
            "upsert_queue",
            "Create or update a queue",
            "queues",
            body={"application/json": _queue_upsert_schema(parallelism)},
            body_required=True,
            errors=(400, 401, 429),
        ),
        Operation("get", "/v2/queues", "list_queues", "The queues", "queues", ok=(200, _array(_ref(QueueView)))),
        Operation(
            "get",
            "/v2/queues/{queueName}",
            "get_queue",
            "A queue",
            "queues",
            ok=(200, _ref(QueueView)),
            params=(queue,),
            errors=(400, 401, 404, 429),
        ),
        Operation(
            "delete",
            "/v2/queues/{queueName}",
            "delete_queue",
            "Delete a queue; its waiting messages are cancelled",
            "queues",
            params=(queue,),
            errors=(400, 401, 429),
        ),
        *(
            Operation(
                "post",
                f"/v2/queues/{{queueName}}/{verb}",
                f"{verb}_queue",
                f"{verb.capitalize()} a queue",
                "queues",
                params=(queue,),
                errors=(400, 401, 404, 429),
            )
            for verb in ("pause", "resume")
        ),
        # --- schedules
        Operation(
            "post",
            "/v2/schedules/{destination}",
            "create_schedule",
            "Create a cron schedule, or overwrite the one named by Upstash-Schedule-Id",
            "schedules",
            ok=(200, _SCHEDULE_CREATED),
            params=(
                _DESTINATION,
                _header(
                    "Upstash-Cron",
                    {"type": "string", "examples": ["*/5 * * * *", "CRON_TZ=Europe/Berlin 0 9 * * 1-5"]},
                    "5 fields, optionally after `CRON_TZ=<zone> `",
                    required=True,
                ),
                _header("Upstash-Schedule-Id", NAME),
                _header("Upstash-Queue-Name", NAME, "enqueue each firing into this queue"),
                *publish,
            ),
            body=_PUBLISH_BODY,
            errors=body_errors,
            description=_PUBLISH_DESCRIPTION,
        ),
        Operation(
            "get", "/v2/schedules", "list_schedules", "The schedules", "schedules", ok=(200, _array(_ref(ScheduleView)))
        ),
        Operation(
            "get",
            "/v2/schedules/{scheduleId}",
            "get_schedule",
            "A schedule",
            "schedules",
            ok=(200, _ref(ScheduleView)),
            params=(schedule,),
            errors=(400, 401, 404, 429),
        ),
        Operation(
            "delete",
            "/v2/schedules/{scheduleId}",
            "delete_schedule",
            "Delete a schedule",
            "schedules",
            params=(schedule,),
            errors=(400, 401, 404, 429),
        ),
        *(
            Operation(
                method,
                f"/v2/schedules/{{scheduleId}}/{verb}",
                f"{verb}_schedule",
                f"{verb.capitalize()} a schedule",
                "schedules",
                params=(schedule,),
                errors=(400, 401, 404, 429),
            )
            for verb in ("pause", "resume")
            for method in ("patch", "post")
        ),
        # --- flow control
        Operation(
            "get",
            "/v2/flowControl",
            "list_flow_control",
            "The flow-control keys",
            "flow control",
            ok=(200, _array(_ref(FlowControlView))),
        ),
        Operation(
            "get",
            "/v2/flowControl/{key}",
            "get_flow_control",
            "A flow-control key's limits and counts",
            "flow control",
            ok=(200, _ref(FlowControlView)),
            params=(key,),
            errors=(400, 401, 404, 429),
        ),
        *(
            Operation(
                "post",
                f"/v2/flowControl/{{key}}/{verb}",
                handler,
                summary,
                "flow control",
                params=(key, *query),
                errors=(400, 401, 404, 429),
            )
            for verb, handler, summary, query in (
                ("pause", "pause_flow_control", "Hold the key's deliveries (new messages wait)", ()),
                ("resume", "resume_flow_control", "Release the key's deliveries", ()),
                ("pin", "pin_flow_control", "Fix the key's limits, whatever messages say", _query_params(PinQuery)),
                ("unpin", "unpin_flow_control", "Let messages set the key's limits again", _query_params(UnpinQuery)),
                ("resetRate", "reset_flow_control_rate", "Start a new rate period now", ()),
            )
        ),
        Operation(
            "get",
            "/v2/globalParallelism",
            "global_parallelism",
            "Deliveries in flight across all keys",
            "flow control",
            ok=(200, _ref(GlobalParallelismView)),
        ),
    )


_SCHEDULE_CREATED = {
    "type": "object",
    "properties": {"scheduleId": {"type": "string"}},
    "required": ["scheduleId"],
}


def _queue_upsert_schema(parallelism: JsonSchema) -> JsonSchema:
    schema = QueueUpsertRequest.model_json_schema(by_alias=True, ref_template=_REF)
    schema["properties"]["parallelism"] = {"anyOf": [parallelism, {"type": "null"}]}
    schema["properties"]["queueName"] = NAME
    return schema


def _event_states() -> set[str]:
    from functions.api.requests import EVENT_STATE_FILTERS

    return set(EVENT_STATE_FILTERS)


def _responses(op: Operation) -> dict[str, Any]:
    status, schema = op.ok
    headers = _REQUEST_ID if op.public else _REQUEST_ID | _TOKEN_ACCESS
    answer: dict[str, Any] = {"description": "OK", "headers": headers}
    if schema is not None:
        answer["content"] = {"application/json": {"schema": schema}}
    else:
        answer["description"] = "OK (empty body)"
    responses = {str(status): answer}
    for extra in op.also_ok:
        responses[str(extra)] = {**answer, "description": _DUPLICATE}
    prefix = "V1" if op.path.startswith("/v1/") else ""
    read_only_refused = not op.public and not permits(Access.READ_ONLY, op.method, op.path)
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
                "content": {"application/json": {"schema": _ref(model)}},
            }
    return responses


def build_document(settings: Settings, server_url: str = "/") -> dict[str, Any]:
    """The OpenAPI document of the API under `settings` (limits such as the retry maximum come from them)."""
    _, definitions = models_json_schema(
        [(model, "validation") for model in _REQUEST_MODELS] + [(model, "serialization") for model in _RESPONSE_MODELS],
        by_alias=True,
        ref_template=_REF,
    )
    paths: dict[str, dict[str, Any]] = {}
    ops = operations(settings)
    handlers = [op.handler for op in ops]  # pause/resume of a schedule: one handler, two methods
    for op in ops:
        doc: dict[str, Any] = {
            "operationId": op.handler if handlers.count(op.handler) == 1 else f"{op.handler}_{op.method}",
            "summary": op.summary,
            "tags": [op.tag],
            "responses": _responses(op),
        }
        if op.description:
            doc["description"] = op.description
        if op.params:
            doc["parameters"] = [p.document() for p in op.params]
        if op.body is not None:
            doc["requestBody"] = {
                "required": op.body_required,
                "content": {media: {"schema": schema} for media, schema in op.body.items()},
            }
        if op.public:
            doc["security"] = []
        paths.setdefault(op.path, {})[op.method] = doc
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
