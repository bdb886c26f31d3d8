"""API function: API Gateway HTTP API (payload v2) -> Powertools resolver -> services."""

# No `from __future__ import annotations`: the resolver reads the route signatures at runtime.

# ruff: noqa: E402 - the imports follow gc.disable()
import gc

_collecting = gc.isenabled()
gc.disable()  # no garbage collections while the function's modules load: a fifth of its cold start (see the end)

import base64
import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from functions.api.auth import (
    TOKEN_ACCESS_HEADER,
    TOKEN_QUERY_PARAMETER,
    Access,
    TokenSet,
    authorize,
    caller_key,
    check_permission,
)
from functions.api.console import console_response
from functions.api.masking import masked
from functions.api.openapi import OPENAPI_PATH, document_json
from functions.api.requests import (
    CancelRequest,
    DlqQuery,
    EndpointsRequest,
    EventQuery,
    Order,
    PinQuery,
    QueueUpsertRequest,
    UnpinQuery,
    parse,
    parse_batch,
    path_id,
)
from functions.api.root import api_root
from functions.events.views import EventsView, LogsView, log_entry_view
from functions.flow.views import GlobalParallelismView, flow_control_view
from functions.limits.service import RateLimitStatus
from functions.messages.publish import destination_from_path
from functions.messages.service import PublishInput, PublishOutcome
from functions.messages.views import (
    CancelledView,
    DeletedView,
    DlqListView,
    ErrorView,
    PublishedView,
    PublishResponse,
    RetriedView,
    SigningKeysView,
    dlq_message_view,
    message_view,
    v1_error_view,
    v1_message_view,
)
from functions.queues.views import queue_view
from functions.schedules.views import schedule_view
from functions.shared.config import get_settings
from functions.shared.errors import BadRequestError, PostboxError, UnsupportedMediaTypeError
from functions.shared.observability import count, logger, metrics, tracer
from functions.topics.models import Endpoint, validate_name
from functions.topics.views import topic_view

PUBLISH_PREFIX = "/v2/publish/"
MAX_QUERY_FIELDS = 1000

app = APIGatewayHttpResolver(enable_validation=True)


def json_response(value: BaseModel | list[Any], status_code: int = 200) -> Response[str]:
    """A view (or a list of views, nested lists too) as the JSON body; for a read-only token, with the values of
    credential-like headers masked (functions/api/masking.py)."""
    body = _json(value)
    if app.context.get("access") is Access.READ_ONLY:
        body = json.dumps(masked(json.loads(body)), separators=(",", ":"))
    return Response(status_code=status_code, content_type="application/json", body=body)


def error_response(status_code: int, message: str) -> Response[str]:
    """QStash's `{"error": "..."}`, or seed 003's envelope with a code and the request id on /v1 routes."""
    event = app.current_event
    if event.path.startswith("/v1/"):
        return json_response(v1_error_view(status_code, message, request_id(event.raw_event)), status_code)
    return json_response(ErrorView(error=message), status_code)


def request_id(event: dict[str, Any]) -> str:
    """API Gateway's request id: the `X-Request-Id` header, `meta.request_id` and the logs' correlation id."""
    return str(event.get("requestContext", {}).get("requestId") or "")


def empty_response() -> Response[str]:
    return Response(status_code=200, content_type="application/json", body="")


def raw_body() -> bytes:
    event = app.current_event
    body = event.raw_event.get("body") or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode()


def json_body() -> dict[str, Any] | None:
    """The JSON object body of a request, None when there is none (DELETE with a body is QStash's bulk form). It
    must be sent as `application/json`, as the SDKs do: a web page can make a browser send a cross-site `text/plain`
    POST without asking, never an `application/json` one."""
    data = raw_body().strip()
    if not data:
        return None
    require_json_content_type()
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as exc:  # (a body nested thousands deep)
        raise BadRequestError("request body must be JSON") from exc
    if not isinstance(value, dict):
        raise BadRequestError("request body must be a JSON object")
    return value


def require_json_content_type() -> None:
    content_type = (app.current_event.headers or {}).get("content-type", "")
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaTypeError("send the JSON body with Content-Type: application/json")


def query() -> list[tuple[str, str]]:
    """The query's name/value pairs as the client sent them, a repeated name once per value (API Gateway's
    `queryStringParameters` joins repeated values with commas, which a URL may hold). The token a client may pass
    as `qstash_token` is the auth check's, not a parameter of any route."""
    event = app.current_event.raw_event
    raw = event.get("rawQueryString")
    if raw is None:
        pairs = list((event.get("queryStringParameters") or {}).items())
    else:
        try:
            pairs = parse_qsl(raw, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)
        except ValueError as exc:
            raise BadRequestError(f"at most {MAX_QUERY_FIELDS} query parameters") from exc
    return [(name, value) for name, value in pairs if name != TOKEN_QUERY_PARAMETER]


# The token is checked in `lambda_handler`, before routing (see `_gate`).


# --- the API's description ------------------------------------------------------------------------


@app.get(OPENAPI_PATH, include_in_schema=False)
def openapi_document() -> Response[str]:
    """The OpenAPI document (functions/api/openapi.py); local mode also serves a Swagger UI page of it."""
    return Response(status_code=200, content_type="application/json", body=document_json(get_settings()))


# --- publish ---------------------------------------------------------------------------------------


@app.post(f"{PUBLISH_PREFIX}.+")
@tracer.capture_method
def publish() -> Response[str]:
    event = app.current_event
    outcome = api_root().messages.publish(
        PublishInput(
            path_tail=event.path[len(PUBLISH_PREFIX) :],
            raw_query=event.raw_event.get("rawQueryString", ""),
            headers={k.lower(): v for k, v in (event.headers or {}).items()},
            body=raw_body(),
            caller_ip=event.request_context.http.source_ip or None,
        )
    )
    return publish_response(outcome)


def publish_view(outcome: PublishOutcome) -> PublishResponse | list[PublishResponse]:
    """One object for a URL; a bare list (one per endpoint) for a URL group, as the SDKs expect."""
    views = [
        PublishResponse(message_id=p.message_id, url=p.url, deduplicated=True if p.deduplicated else None)
        for p in outcome.published
    ]
    return views if outcome.to_group else views[0]


def publish_response(outcome: PublishOutcome) -> Response[str]:
    created = sum(not p.deduplicated for p in outcome.published)
    if created:
        count("MessagesPublished", created)
    status = 202 if outcome.published and not created else 200  # QStash answers a duplicate with 202
    return json_response(publish_view(outcome), status)


def _json(value: BaseModel | list[BaseModel] | list[Any]) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json(exclude_none=True, by_alias=True)
    return "[" + ",".join(_json(v) for v in value) + "]"


ENQUEUE = re.compile(r"^/v2/enqueue/(?P<queue>[^/]+)/(?P<destination>.+)$")


@app.post("/v2/enqueue/.+")
@tracer.capture_method
def enqueue() -> Response[str]:
    """Publish into a FIFO queue (created with parallelism 1 when it does not exist)."""
    event = app.current_event
    match = ENQUEUE.match(event.path)
    if match is None:
        raise BadRequestError("use /v2/enqueue/{queue}/{destination}")
    service = api_root().messages
    destination = destination_from_path(match["destination"], event.raw_event.get("rawQueryString", ""))
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    prepared = service.prepare(destination, headers, raw_body(), event.request_context.http.source_ip or None)
    queue = api_root().queues.ensure(match["queue"])  # only once the message is valid: a 4xx creates no queue
    return publish_response(service.store(prepared, queue_name=queue.name))


@app.post("/v2/batch")
@tracer.capture_method
def batch() -> Response[str]:
    """Many publishes in one request; every entry is validated before any is stored. One answer per entry: an
    object for a URL, a list for a URL group."""
    require_json_content_type()
    entries = parse_batch(raw_body())
    service = api_root().messages
    caller_ip = app.current_event.request_context.http.source_ip or None
    prepared, queues = [], []
    for entry in entries:
        headers = {k.lower(): v for k, v in (entry.headers or {}).items()}
        destination = destination_from_path(entry.destination, "")
        prepared.append(service.prepare(destination, headers, (entry.body or "").encode(), caller_ip))
        queues.append(validate_name(entry.queue, "queue") if entry.queue else None)
    outcomes = service.store_many(
        [(p, api_root().queues.ensure(q).name if q else None) for p, q in zip(prepared, queues, strict=True)]
    )
    created = sum(not p.deduplicated for o in outcomes for p in o.published)
    if created:
        count("MessagesPublished", created)
    return json_response([publish_view(o) for o in outcomes])


# --- URL groups ------------------------------------------------------------------------------------


@app.post("/v2/topics/<name>/endpoints")
@tracer.capture_method
def upsert_endpoints(name: str) -> Response[str]:
    request = parse(EndpointsRequest, body=json_body())
    endpoints = []
    for entry in request.endpoints:
        if not entry.url:
            raise BadRequestError("every endpoint needs a url")
        endpoints.append(Endpoint(url=entry.url, name=entry.name))
    api_root().topics.upsert_endpoints(name, endpoints)
    return empty_response()


@app.delete("/v2/topics/<name>/endpoints")
@tracer.capture_method
def remove_endpoints(name: str) -> Response[str]:
    validate_name(name)
    request = parse(EndpointsRequest, body=json_body())
    if any(not (entry.url or entry.name) for entry in request.endpoints):
        raise BadRequestError("every endpoint to remove needs a url or a name")
    api_root().topics.remove_endpoints(name, [Endpoint(url=e.url or "", name=e.name) for e in request.endpoints])
    return empty_response()


@app.get("/v2/topics")
@tracer.capture_method
def list_topics() -> Response[str]:
    return json_response([topic_view(t) for t in api_root().topics.list()])


@app.get("/v2/topics/<name>")
@tracer.capture_method
def get_topic(name: str) -> Response[str]:
    validate_name(name)
    return json_response(topic_view(api_root().topics.get(name)))


@app.delete("/v2/topics/<name>")
@tracer.capture_method
def delete_topic(name: str) -> Response[str]:
    validate_name(name)
    api_root().topics.delete(name)
    return empty_response()


# --- queues ----------------------------------------------------------------------------------------


@app.post("/v2/queues")
@tracer.capture_method
def upsert_queue() -> Response[str]:
    request = parse(QueueUpsertRequest, body=json_body())
    api_root().queues.upsert(request.queue_name, request.parallelism, request.paused)
    return empty_response()


@app.get("/v2/queues")
@tracer.capture_method
def list_queues() -> Response[str]:
    return json_response([queue_view(q) for q in api_root().queues.list()])


@app.get("/v2/queues/<name>")
@tracer.capture_method
def get_queue(name: str) -> Response[str]:
    validate_name(name, "queue")
    return json_response(queue_view(api_root().queues.get(name)))


@app.delete("/v2/queues/<name>")
@tracer.capture_method
def delete_queue(name: str) -> Response[str]:
    validate_name(name, "queue")
    api_root().queues.delete(name)
    return empty_response()


@app.post("/v2/queues/<name>/pause")
@tracer.capture_method
def pause_queue(name: str) -> Response[str]:
    validate_name(name, "queue")
    api_root().queues.set_paused(name, True)
    return empty_response()


@app.post("/v2/queues/<name>/resume")
@tracer.capture_method
def resume_queue(name: str) -> Response[str]:
    validate_name(name, "queue")
    api_root().queues.set_paused(name, False)
    return empty_response()


# --- schedules -------------------------------------------------------------------------------------

SCHEDULE_PREFIX = "/v2/schedules/"


@app.route("/v2/schedules/<schedule_id>/pause", method=["PATCH", "POST"])
@tracer.capture_method
def pause_schedule(schedule_id: str) -> Response[str]:
    validate_name(schedule_id, "schedule")
    api_root().schedules.set_paused(schedule_id, True)
    return empty_response()


@app.route("/v2/schedules/<schedule_id>/resume", method=["PATCH", "POST"])
@tracer.capture_method
def resume_schedule(schedule_id: str) -> Response[str]:
    validate_name(schedule_id, "schedule")
    api_root().schedules.set_paused(schedule_id, False)
    return empty_response()


@app.post(r"/v2/schedules/(?![^/]+/(?:pause|resume)$).+")
@tracer.capture_method
def create_schedule() -> Response[str]:
    """`Upstash-Cron` (+ `Upstash-Schedule-Id` to overwrite, `Upstash-Queue-Name`) and every publish header."""
    event = app.current_event
    destination = destination_from_path(event.path[len(SCHEDULE_PREFIX) :], event.raw_event.get("rawQueryString", ""))
    schedule_id = api_root().schedules.create(
        destination,
        {k.lower(): v for k, v in (event.headers or {}).items()},
        raw_body(),
        event.request_context.http.source_ip or None,
    )
    return Response(status_code=200, content_type="application/json", body=json.dumps({"scheduleId": schedule_id}))


@app.get("/v2/schedules")
@tracer.capture_method
def list_schedules() -> Response[str]:
    views = [schedule_view(info) for info in api_root().schedules.list_all()]
    return json_response(views)


@app.get("/v2/schedules/<schedule_id>")
@tracer.capture_method
def get_schedule(schedule_id: str) -> Response[str]:
    validate_name(schedule_id, "schedule")
    return json_response(schedule_view(api_root().schedules.get(schedule_id)))


@app.delete("/v2/schedules/<schedule_id>")
@tracer.capture_method
def delete_schedule(schedule_id: str) -> Response[str]:
    validate_name(schedule_id, "schedule")
    api_root().schedules.delete(schedule_id)
    return empty_response()


# --- flow control ----------------------------------------------------------------------------------


@app.get("/v2/flowControl")
@tracer.capture_method
def list_flow_control() -> Response[str]:
    views = [flow_control_view(info) for info in api_root().flows.list_all()]
    return json_response(views)


@app.get("/v2/flowControl/<key>")
@tracer.capture_method
def get_flow_control(key: str) -> Response[str]:
    key = path_id(key, "flow-control key")
    return json_response(flow_control_view(api_root().flows.get(key)))


@app.post("/v2/flowControl/<key>/pause")
@tracer.capture_method
def pause_flow_control(key: str) -> Response[str]:
    key = path_id(key, "flow-control key")
    api_root().flows.set_paused(key, True)
    return empty_response()


@app.post("/v2/flowControl/<key>/resume")
@tracer.capture_method
def resume_flow_control(key: str) -> Response[str]:
    key = path_id(key, "flow-control key")
    api_root().flows.set_paused(key, False)
    return empty_response()


@app.post("/v2/flowControl/<key>/pin")
@tracer.capture_method
def pin_flow_control(key: str) -> Response[str]:
    key = path_id(key, "flow-control key")
    request = parse(PinQuery, query())
    api_root().flows.pin(key, request.parallelism, request.rate, request.period)
    return empty_response()


@app.post("/v2/flowControl/<key>/unpin")
@tracer.capture_method
def unpin_flow_control(key: str) -> Response[str]:
    key = path_id(key, "flow-control key")
    request = parse(UnpinQuery, query())
    api_root().flows.unpin(key, request.parallelism, request.rate)
    return empty_response()


@app.post("/v2/flowControl/<key>/resetRate")
@tracer.capture_method
def reset_flow_control_rate(key: str) -> Response[str]:
    key = path_id(key, "flow-control key")
    api_root().flows.reset_rate(key)
    return empty_response()


@app.get("/v2/globalParallelism")
@tracer.capture_method
def global_parallelism() -> Response[str]:
    maximum, count = api_root().flows.global_parallelism()
    return json_response(GlobalParallelismView(parallelism_max=maximum, parallelism_count=count))


# --- messages --------------------------------------------------------------------------------------


@app.get("/v2/messages/<message_id>")
@tracer.capture_method
def get_message(message_id: str) -> Response[str]:
    """By id or dedup key; a finished message stays readable for a short grace period."""
    message_id = path_id(message_id, "message id")
    grace = get_settings().delivered_grace_seconds
    return json_response(message_view(api_root().messages.get(message_id, finished_grace_s=grace)))


@app.get("/v1/messages/<message_id>")
@tracer.capture_method
def get_message_v1(message_id: str) -> Response[str]:
    """Seed 003's message details, by id or idempotency key, for the whole retention period."""
    message_id = path_id(message_id, "message id")
    message = api_root().messages.get(message_id)
    view = v1_message_view(
        message, project_id=get_settings().project_id, request_id=request_id(app.current_event.raw_event)
    )
    return json_response(view)


@app.delete("/v2/messages/<message_id>")
@tracer.capture_method
def cancel_message(message_id: str) -> Response[str]:
    message_id = path_id(message_id, "message id")
    return json_response(CancelledView(cancelled=api_root().messages.cancel(message_id)))


@app.delete("/v2/messages")
@tracer.capture_method
def cancel_messages() -> Response[str]:
    request = parse(CancelRequest, query(), json_body())
    cancelled = api_root().messages.cancel_many(request.message_ids, request.to_filter(), request.count)
    return json_response(CancelledView(cancelled=cancelled))


# --- DLQ -------------------------------------------------------------------------------------------


@app.get("/v2/dlq")
@tracer.capture_method
def list_dlq() -> Response[str]:
    request = parse(DlqQuery, query())
    page = api_root().messages.list_dlq(
        request.dlq_ids,
        request.to_filter(),
        count=request.count,
        cursor=request.cursor,
        newest_first=request.order == Order.LATEST_FIRST,
    )
    return json_response(DlqListView(messages=[dlq_message_view(e) for e in page.entries], cursor=page.cursor))


@app.get("/v2/dlq/<dlq_id>")
@tracer.capture_method
def get_dlq_message(dlq_id: str) -> Response[str]:
    dlq_id = path_id(dlq_id, "dlq id")
    return json_response(dlq_message_view(api_root().messages.get_dlq(dlq_id)))


@app.delete("/v2/dlq/<dlq_id>")
@tracer.capture_method
def delete_dlq_message(dlq_id: str) -> Response[str]:
    dlq_id = path_id(dlq_id, "dlq id")
    api_root().messages.delete_dlq(dlq_id)
    return empty_response()


@app.delete("/v2/dlq")
@tracer.capture_method
def delete_dlq_messages() -> Response[str]:
    request = parse(DlqQuery, query(), json_body())
    deleted, cursor = api_root().messages.delete_dlq_many(
        request.dlq_ids,
        request.to_filter(),
        count=request.count,
        cursor=request.cursor,
        newest_first=request.order == Order.LATEST_FIRST,
    )
    return json_response(DeletedView(deleted=deleted, cursor=cursor))


@app.post("/v2/dlq/retry/<dlq_id>")
@tracer.capture_method
def retry_dlq_message(dlq_id: str) -> Response[str]:
    dlq_id = path_id(dlq_id, "dlq id")
    return json_response(PublishedView(message_id=api_root().messages.retry_dlq(dlq_id)), 201)


@app.post("/v2/dlq/retry")
@tracer.capture_method
def retry_dlq_messages() -> Response[str]:
    request = parse(DlqQuery, query(), json_body())
    replayed, cursor = api_root().messages.retry_dlq_many(
        request.dlq_ids,
        request.to_filter(),
        count=request.count,
        cursor=request.cursor,
        newest_first=request.order == Order.LATEST_FIRST,
    )
    return json_response(RetriedView(responses=[PublishedView(message_id=i) for i in replayed], cursor=cursor), 201)


# --- event log -------------------------------------------------------------------------------------


@app.get("/v2/events")
@tracer.capture_method
def list_events() -> Response[str]:
    """The log as every SDK reads it: `{"events", "cursor"?}`, up to 1000 per page."""
    request = parse(EventQuery, query())
    page = _events_page(request, default=1000, maximum=1000)
    return json_response(EventsView(events=[log_entry_view(e) for e in page.events], cursor=page.cursor))


@app.get("/v2/logs")
@tracer.capture_method
def list_logs() -> Response[str]:
    """The same log as documented since 2025: `{"logs", "cursor"?}`, up to 100 per page."""
    request = parse(EventQuery, query())
    page = _events_page(request, default=100, maximum=100)
    return json_response(LogsView(logs=[log_entry_view(e) for e in page.events], cursor=page.cursor))


def _events_page(request: EventQuery, *, default: int, maximum: int) -> Any:
    return api_root().events.list(
        request.to_filter(),
        count=request.page_size(default, maximum),
        cursor=request.cursor,
        newest_first=request.order == Order.LATEST_FIRST,
    )


# --- signing keys ----------------------------------------------------------------------------------


@app.get("/v2/keys")
@tracer.capture_method
def get_keys() -> Response[str]:
    keys = api_root().signing_keys.get()
    return json_response(SigningKeysView(current=keys.current, next=keys.next))


@app.post("/v2/keys/rotate")
@tracer.capture_method
def rotate_keys() -> Response[str]:
    keys = api_root().signing_keys.rotate()
    logger.info("signing keys rotated")
    return json_response(SigningKeysView(current=keys.current, next=keys.next))


# --- errors ----------------------------------------------------------------------------------------


@app.exception_handler(PostboxError)
def handle_postbox_error(exc: PostboxError) -> Response[str]:
    if exc.status_code >= 500:
        logger.error("request failed", error=exc.message)
    return error_response(exc.status_code, exc.message)


@app.exception_handler(RequestValidationError)
def handle_validation_error(exc: RequestValidationError) -> Response[str]:
    details = "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in exc.errors())
    return error_response(400, f"invalid request: {details}")


@app.not_found
def handle_not_found(exc: RouteNotFoundError) -> Response[str]:
    return error_response(404, f"no route for {app.current_event.http_method} {app.current_event.path}")


@app.exception_handler(Exception)
def handle_unexpected(exc: Exception) -> Response[str]:
    logger.exception("unexpected error")
    return error_response(500, "internal error")


# --- entry point: rate limit, token, then route; request id and limit headers on every answer ------


def _error_result(event: dict[str, Any], status_code: int, message: str) -> dict[str, Any]:
    """An error answered before routing, in the shape `error_response` gives routed ones."""
    if str(event.get("rawPath", "")).startswith("/v1/"):
        body = v1_error_view(status_code, message, request_id(event)).model_dump_json()
    else:
        body = ErrorView(error=message).model_dump_json()
    return {
        "statusCode": status_code,
        "headers": {"Content-Type": "application/json"},
        "body": body,
        "isBase64Encoded": False,
    }


def _rate_limited(event: dict[str, Any], limit: RateLimitStatus) -> dict[str, Any]:
    path = str(event.get("rawPath", ""))
    message = f"rate limit of {limit.limit} requests per window exceeded, retry after {limit.reset_s}"
    response = _error_result(event, 429, message)
    if path.startswith(("/v2/publish/", "/v2/enqueue/", "/v2/batch")):
        response["headers"] |= limit.headers(prefix="RateLimit-")  # QStash's, so the SDKs raise their rate-limit error
    return response


def _gate(event: dict[str, Any], tokens: TokenSet) -> tuple[Access | None, dict[str, Any] | None]:
    """The access of the request's token (None without a valid one, and on the public OpenAPI document) and the
    refusal, if any: 401 without a valid token, 403 for a read-only token on anything but a read. Checked before
    routing, so a refused request reaches no route, no request validation and no service, whatever its path or
    body. The access granted goes to the routes as `app.context["access"]`."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    method = str(event.get("requestContext", {}).get("http", {}).get("method", ""))
    if method == "GET" and event.get("rawPath") == OPENAPI_PATH:  # public: the API's description holds no secret
        return None, None
    try:
        access = authorize(headers, event.get("queryStringParameters") or {}, tokens)
    except PostboxError as exc:
        return None, _error_result(event, exc.status_code, exc.message)
    try:
        check_permission(access, method, str(event.get("rawPath", "")))
    except PostboxError as exc:
        return access, _error_result(event, exc.status_code, exc.message)
    app.context["access"] = access
    return access, None


def _api_tokens() -> TokenSet | None:
    """The valid tokens; None when the secret cannot be read or is no JSON object (every request is refused)."""
    try:
        return api_root().tokens()
    except Exception:
        logger.exception("the API tokens cannot be read")
        return None


def _check_rate_limit(event: dict[str, Any], tokens: TokenSet) -> RateLimitStatus | None:
    limiter = api_root().rate_limiter
    if not limiter.enabled:
        return None
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    query = event.get("queryStringParameters") or {}
    ip = str(event.get("requestContext", {}).get("http", {}).get("sourceIp", "unknown"))
    return limiter.hit(caller_key(headers, query, tokens, ip))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event.setdefault("requestContext", {}).setdefault("requestId", str(uuid.uuid4()))
    tokens = _api_tokens()
    limit = _check_rate_limit(event, tokens) if tokens is not None else None
    access = None
    if tokens is None:
        response = _error_result(event, 503, "the API tokens cannot be read; try again")
    elif limit and not limit.allowed:
        response = _rate_limited(event, limit)
    elif (console := console_response(event)) is not None:
        response = console  # the console's page and files: public, they hold no data; before the token check
    else:
        access, refusal = _gate(event, tokens)
        response = refusal or app.resolve(event, context)
    headers = dict(response.get("headers") or {})
    headers["X-Request-Id"] = request_id(event)
    if access is not None:
        headers[TOKEN_ACCESS_HEADER] = access.value
    if limit is not None:
        headers |= limit.headers()
    response["headers"] = headers
    return response


if _collecting:  # the modules are loaded
    gc.enable()
