"""What every request goes through before routing, in this order, and the headers stamped on every answer.

1. the API tokens must be readable: 503 otherwise (every request refused until they are);
2. the rate limit of the caller (its valid token, else its address): 429, with QStash's `RateLimit-*` headers on the
   publish routes so the SDKs raise their rate-limit error;
3. the public routes of the route table (the OpenAPI document, the web console's page and files): routed without
   a token;
4. the token: 401 without a valid one, 403 for a read-only token on anything but a read (functions/api/auth.py),
   whatever the path: an unknown path without a token is 401, not 404.

A refused request reaches no route, no request validation and no service. Every answer carries `X-Request-Id`, the
valid token's `Postbox-Token-Access` and, when the limit is on, the `X-RateLimit-*` headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.api.auth import TOKEN_ACCESS_HEADER, Access, TokenSet, authorize, caller_key, check_permission
from functions.api.responses import error_result, request_id
from functions.api.routes.table import is_public
from functions.limits.service import Limiter, RateLimitStatus
from functions.shared.errors import PostboxError

RATE_LIMITED_PUBLISH_PATHS = ("/v2/publish/", "/v2/enqueue/", "/v2/batch")


@dataclass(frozen=True)
class Admission:
    """The gate's verdict: `answer` when the request is refused before routing, None to route it; the access of its
    valid token and its rate-limit status, for the answer's headers."""

    answer: dict[str, Any] | None
    access: Access | None = None
    limit: RateLimitStatus | None = None


def admit(event: dict[str, Any], tokens: TokenSet | None, limiter: Limiter | None) -> Admission:
    """The verdict on `event`; `tokens` is None when the secret cannot be read, `limiter` may be None then."""
    if tokens is None:
        return Admission(error_result(event, 503, "the API tokens cannot be read; try again"))
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    query = event.get("queryStringParameters") or {}
    http = event.get("requestContext", {}).get("http", {})
    limit = None
    if limiter is not None and limiter.enabled:
        limit = limiter.hit(caller_key(headers, query, tokens, str(http.get("sourceIp", "unknown"))))
        if not limit.allowed:
            return Admission(_rate_limited(event, limit), limit=limit)
    answer, access = _check_token(event, headers, query, tokens)
    return Admission(answer, access, limit)


def _check_token(
    event: dict[str, Any], headers: dict[str, str], query: dict[str, str], tokens: TokenSet
) -> tuple[dict[str, Any] | None, Access | None]:
    """The refusal, or None to route the request, and the access of the valid token."""
    method = str(event.get("requestContext", {}).get("http", {}).get("method", "")).upper()
    path = str(event.get("rawPath", ""))
    if is_public(method, path):
        return None, None
    try:
        access = authorize(headers, query, tokens)
    except PostboxError as exc:
        return error_result(event, exc.status_code, exc.message), None
    try:
        check_permission(access, method, path)
    except PostboxError as exc:
        return error_result(event, exc.status_code, exc.message), access
    return None, access


def stamp(response: dict[str, Any], event: dict[str, Any], admission: Admission) -> dict[str, Any]:
    """`response` with the headers every answer carries."""
    headers = dict(response.get("headers") or {})
    headers["X-Request-Id"] = request_id(event)
    if admission.access is not None:
        headers[TOKEN_ACCESS_HEADER] = admission.access.value
    if admission.limit is not None:
        headers |= admission.limit.headers()
    response["headers"] = headers
    return response


def _rate_limited(event: dict[str, Any], limit: RateLimitStatus) -> dict[str, Any]:
    message = f"rate limit of {limit.limit} requests per window exceeded, retry after {limit.reset_s}"
    response = error_result(event, 429, message)
    if str(event.get("rawPath", "")).startswith(RATE_LIMITED_PUBLISH_PATHS):
        response["headers"] |= limit.headers(prefix="RateLimit-")  # QStash's, so the SDKs raise their rate-limit error
    return response
