"""API function: API Gateway HTTP API (payload v2) -> Powertools resolver -> message service."""

# No `from __future__ import annotations`: the resolver reads the route signatures at runtime.

import base64
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from functions.api.auth import authorize
from functions.api.dependencies import api_tokens, message_service
from functions.messages.service import PublishInput
from functions.messages.views import ErrorView, PublishResponse, dlq_message_view, message_view
from functions.shared.errors import PostboxError
from functions.shared.observability import logger, metrics, tracer

PUBLISH_PREFIX = "/v2/publish/"

app = APIGatewayHttpResolver(enable_validation=True)


def json_response(model: BaseModel, status_code: int = 200) -> Response[str]:
    return Response(
        status_code=status_code,
        content_type="application/json",
        body=model.model_dump_json(exclude_none=True, by_alias=True),
    )


def error_response(status_code: int, message: str) -> Response[str]:
    return json_response(ErrorView(error=message), status_code)


def require_token(router: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    event = router.current_event
    authorize(event.headers or {}, event.query_string_parameters or {}, api_tokens())
    return next_middleware(router)


app.use(middlewares=[require_token])


@app.post(f"{PUBLISH_PREFIX}.+")
@tracer.capture_method
def publish() -> Response[str]:
    event = app.current_event
    raw = event.raw_event
    body = raw.get("body") or ""
    request = message_service().publish(
        PublishInput(
            path_tail=event.path[len(PUBLISH_PREFIX) :],
            raw_query=raw.get("rawQueryString", ""),
            headers={k.lower(): v for k, v in (event.headers or {}).items()},
            body=base64.b64decode(body) if event.is_base64_encoded else body.encode(),
            caller_ip=event.request_context.http.source_ip or None,
        )
    )
    metrics.add_metric(name="MessagesPublished", unit="Count", value=1)
    return json_response(PublishResponse(message_id=request.message_id, url=request.url))


@app.get("/v2/messages/<message_id>")
@tracer.capture_method
def get_message(message_id: str) -> Response[str]:
    return json_response(message_view(message_service().get(message_id)))


@app.get("/v2/dlq/<dlq_id>")
@tracer.capture_method
def get_dlq_message(dlq_id: str) -> Response[str]:
    return json_response(dlq_message_view(message_service().get_dlq(dlq_id)))


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


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
