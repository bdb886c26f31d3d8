"""The API's answers: JSON views (masked for a read-only token), empty bodies, and errors in QStash's shape
(`{"error"}`) or seed 003's on /v1 routes; the same shapes for an answer given before routing
(functions/api/gate.py)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel

from functions.api.auth import Access
from functions.api.masking import masked
from functions.api.resolver import app
from functions.messages.views import ErrorView, v1_error_view


def json_response(value: BaseModel | list[Any], status_code: int = 200) -> Response[str]:
    """A view (or a list of views, nested lists too) as the JSON body; for a read-only token, with the values of
    credential-like headers masked (functions/api/masking.py)."""
    body = _json(value)
    if app.context.get("access") is Access.READ_ONLY:
        body = json.dumps(masked(json.loads(body)), separators=(",", ":"))
    return Response(status_code=status_code, content_type="application/json", body=body)


def empty_response() -> Response[str]:
    return Response(status_code=200, content_type="application/json", body="")


def error_response(status_code: int, message: str) -> Response[str]:
    """QStash's `{"error": "..."}`, or seed 003's envelope with a code and the request id on /v1 routes."""
    event = app.current_event
    if event.path.startswith("/v1/"):
        return json_response(v1_error_view(status_code, message, request_id(event.raw_event)), status_code)
    return json_response(ErrorView(error=message), status_code)


def error_result(event: dict[str, Any], status_code: int, message: str) -> dict[str, Any]:
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


def request_id(event: dict[str, Any]) -> str:
    """API Gateway's request id: the `X-Request-Id` header, `meta.request_id` and the logs' correlation id."""
    return str(event.get("requestContext", {}).get("requestId") or "")


def _json(value: BaseModel | list[BaseModel] | list[Any]) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json(exclude_none=True, by_alias=True)
    return "[" + ",".join(_json(v) for v in value) + "]"
