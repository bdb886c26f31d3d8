"""API authentication: `Authorization: Bearer <token>` or `?qstash_token=<token>`, compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping

from functions.shared.errors import UnauthorizedError


def presented_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return query.get("qstash_token") or None


def authorize(headers: Mapping[str, str], query: Mapping[str, str], valid_tokens: Iterable[str]) -> None:
    token = presented_token(headers, query)
    if token is None:
        raise UnauthorizedError("missing token: send 'Authorization: Bearer <token>' or '?qstash_token=<token>'")
    matched = False
    for valid in valid_tokens:  # compare with every token, so the time taken does not tell which one matched
        matched |= hmac.compare_digest(token.encode(), valid.encode())
    if not matched:
        raise UnauthorizedError("invalid token")
