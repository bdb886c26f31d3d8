"""What a route reads of the current request: its body, JSON body, query pairs, headers and caller."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl

from functions.api.auth import TOKEN_QUERY_PARAMETER
from functions.api.resolver import app
from functions.shared.errors import BadRequestError, UnsupportedMediaTypeError

MAX_QUERY_FIELDS = 1000


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
    as `qstash_token` is the gate's, not a parameter of any route."""
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


def raw_query() -> str:
    return str(app.current_event.raw_event.get("rawQueryString", ""))


def headers() -> dict[str, str]:
    """The request's headers, names in lower case."""
    return {k.lower(): v for k, v in (app.current_event.headers or {}).items()}


def caller_ip() -> str | None:
    return app.current_event.request_context.http.source_ip or None


def path() -> str:
    return app.current_event.path
