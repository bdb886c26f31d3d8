"""API authentication: `Authorization: Bearer <token>` or `?qstash_token=<token>`, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping

from functions.shared.errors import UnauthorizedError


def presented_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return query.get("qstash_token") or None


def is_valid(token: str, valid_tokens: Iterable[str]) -> bool:
    matched = False
    for valid in valid_tokens:  # compare with every token, so the time taken does not tell which one matched
        matched |= hmac.compare_digest(token.encode(), valid.encode())
    return matched


def authorize(headers: Mapping[str, str], query: Mapping[str, str], valid_tokens: Iterable[str]) -> None:
    token = presented_token(headers, query)
    if token is None:
        raise UnauthorizedError("missing token: send 'Authorization: Bearer <token>' or '?qstash_token=<token>'")
    if not is_valid(token, valid_tokens):
        raise UnauthorizedError("invalid token")


def caller_key(headers: Mapping[str, str], query: Mapping[str, str], valid_tokens: Iterable[str], ip: str) -> str:
    """Whom a request counts against for rate limiting: its token when valid (hashed), else its source address."""
    token = presented_token(headers, query)
    if token is not None and is_valid(token, valid_tokens):
        return "token#" + hashlib.sha256(token.encode()).hexdigest()[:32]
    return f"ip#{ip}"
