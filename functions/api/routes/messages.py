"""Messages: look one up (v2 and v1), cancel one or many."""

# No `from __future__ import annotations`: the resolver reads the route signatures at runtime.

from aws_lambda_powertools.event_handler import Response

from functions.api.incoming import json_body, query
from functions.api.requests import CancelRequest, parse, path_id
from functions.api.resolver import app, feature_router
from functions.api.responses import json_response, request_id
from functions.api.root import api_root
from functions.messages.views import CancelledView, message_view, v1_message_view
from functions.shared.config import get_settings
from functions.shared.observability import tracer

router = feature_router()


@tracer.capture_method
def get_message(message_id: str) -> Response[str]:
    """By id or dedup key; a finished message stays readable for a short grace period."""
    message_id = path_id(message_id, "message id")
    grace = get_settings().delivered_grace_seconds
    return json_response(message_view(api_root().messages.get(message_id, finished_grace_s=grace)))


@tracer.capture_method
def get_message_v1(message_id: str) -> Response[str]:
    """Seed 003's message details, by id or idempotency key, for the whole retention period."""
    message_id = path_id(message_id, "message id")
    message = api_root().messages.get(message_id)
    view = v1_message_view(
        message, project_id=get_settings().project_id, request_id=request_id(app.current_event.raw_event)
    )
    return json_response(view)


@tracer.capture_method
def cancel_message(message_id: str) -> Response[str]:
    message_id = path_id(message_id, "message id")
    return json_response(CancelledView(cancelled=api_root().messages.cancel(message_id)))


@tracer.capture_method
def cancel_messages() -> Response[str]:
    request = parse(CancelRequest, query(), json_body())
    cancelled = api_root().messages.cancel_many(request.message_ids, request.to_filter(), request.count)
    return json_response(CancelledView(cancelled=cancelled))
