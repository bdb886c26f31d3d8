"""API authentication: `Authorization: Bearer <token>` or `?qstash_token=<token>`, compared in constant time.

The tokens live in one Secrets Manager secret (AUTH_SECRET_ID), a JSON object:

    {"token": "<full access>",        the generated one
     "tokens": ["<full access>", ...],   more full-access tokens: rotation without downtime
     "readOnlyToken": "<read only>",
     "readOnlyTokens": ["<read only>", ...]}

Every field is optional; `{"token": ...}` alone is the original shape. A full-access token may call every route.
A read-only token (QStash's kind) may only read: GET routes, except the signing keys (`GET /v2/keys`), whose holder
could sign deliveries that receivers trust. Anything else answers 403. A token listed as both is read-only.

Every answer to a request with a valid token names the token's kind in `Postbox-Token-Access` (`full` or
`read-only`), errors too (a 429 or 503 is answered before the token is checked and does not), so a client such as
the web console can offer only what the token may do.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any

from functions.api.route_spec import Caller
from functions.api.routes.table import ROUTES
from functions.shared.errors import PostboxError, UnauthorizedError
from functions.shared.observability import logger

TOKEN_QUERY_PARAMETER = "qstash_token"
FULL_ACCESS_FIELDS = ("token", "tokens")
READ_ONLY_FIELDS = ("readOnlyToken", "readOnlyTokens")
READ_METHODS = frozenset({"GET"})
# Reads a read-only token may not make: the GET routes the route table gives to full-access tokens only (the signing
# keys sign deliveries, so reading them is more than reading), and every path under them.
READ_ONLY_REFUSED_PATHS = tuple(r.path for r in ROUTES if r.method in READ_METHODS and r.caller is Caller.FULL)
# The answer header naming the access of the request's valid token (an `Access` value). Not secret: only the
# token's holder sees it, and it says no more than what a write would answer.
TOKEN_ACCESS_HEADER = "Postbox-Token-Access"


class ForbiddenError(PostboxError):
    status_code = 403


class Access(Enum):
    FULL = "full"
    READ_ONLY = "read-only"


def _digest(token: str) -> bytes:
    # surrogatepass: a lone surrogate (possible in a JSON event) hashes instead of raising; no valid token has one.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True)
class TokenSet:
    """The valid tokens, kept as SHA-256 digests: every comparison is of 32 bytes, whatever the lengths."""

    full: tuple[bytes, ...] = ()
    read_only: tuple[bytes, ...] = ()

    @classmethod
    def of(cls, full: Iterable[str], read_only: Iterable[str] = ()) -> TokenSet:
        return cls(tuple(_digest(t) for t in full if t), tuple(_digest(t) for t in read_only if t))

    def access(self, token: str) -> Access | None:
        """The access `token` grants, or None. It is compared with every valid token, of both kinds, without
        stopping at a match, so the time taken tells neither whether nor which token matched."""
        digest = _digest(token)
        full = read_only = False
        for valid in self.full:
            full |= hmac.compare_digest(digest, valid)
        for valid in self.read_only:
            read_only |= hmac.compare_digest(digest, valid)
        if read_only:
            return Access.READ_ONLY
        return Access.FULL if full else None


def token_set_from_secret(secret: Mapping[str, Any]) -> TokenSet:
    """The tokens of the auth secret (the shape is in this module's docstring). Fields of the wrong type are
    ignored with a warning, never read as something else (a string `tokens` is not a list of its characters)."""
    return _parse(json.dumps([secret.get(name) for name in FULL_ACCESS_FIELDS + READ_ONLY_FIELDS]))


@lru_cache(maxsize=8)
def _parse(fields_json: str) -> TokenSet:  # cached by content: digests and warnings once per secret version
    token, tokens, read_only_token, read_only_tokens = json.loads(fields_json)
    full = _single("token", token) + _listed("tokens", tokens)
    read_only = _single("readOnlyToken", read_only_token) + _listed("readOnlyTokens", read_only_tokens)
    if not full and not read_only:
        logger.warning("the auth secret holds no token: every API request will be refused")
    return TokenSet.of(full, read_only)


def _single(name: str, value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if not isinstance(value, str):
        logger.warning("auth secret field ignored: not a string", field=name)
        return []
    return [value]


def _listed(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        logger.warning("auth secret field ignored: not a list of strings", field=name)
        return []
    if not all(isinstance(v, str) for v in value):
        logger.warning("auth secret entries ignored: not strings", field=name)
    return [v for v in value if isinstance(v, str) and v]


def _as_token_set(tokens: TokenSet | Iterable[str]) -> TokenSet:
    return tokens if isinstance(tokens, TokenSet) else TokenSet.of(tokens)  # plain strings: full access


def presented_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The Bearer token of the `Authorization` header (lowercase names), else the `qstash_token` query parameter:
    a webhook sender's own non-Bearer `Authorization` does not hide the query token."""
    scheme, _, token = (headers.get("authorization") or "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return query.get(TOKEN_QUERY_PARAMETER) or None


def authorize(headers: Mapping[str, str], query: Mapping[str, str], tokens: TokenSet | Iterable[str]) -> Access:
    """The access of the request's token; 401 without a valid one."""
    token = presented_token(headers, query)
    if token is None:
        raise UnauthorizedError("missing token: send 'Authorization: Bearer <token>' or '?qstash_token=<token>'")
    access = _as_token_set(tokens).access(token)
    if access is None:
        raise UnauthorizedError("invalid token")
    return access


def permits(access: Access, method: str, path: str) -> bool:
    if access is Access.FULL:
        return True
    if method.upper() not in READ_METHODS:
        return False
    normalized = "/" + path.strip("/")
    return not any(normalized == p or normalized.startswith(p + "/") for p in READ_ONLY_REFUSED_PATHS)


def check_permission(access: Access, method: str, path: str) -> None:
    """403 for a read-only token on a route that writes (or on the signing keys)."""
    if permits(access, method, path):
        return
    if method.upper() in READ_METHODS:
        raise ForbiddenError("a read-only token cannot read the signing keys; use a full-access token")
    raise ForbiddenError(f"a read-only token cannot call {method.upper()} {path}; use a full-access token")


def caller_key(headers: Mapping[str, str], query: Mapping[str, str], tokens: TokenSet | Iterable[str], ip: str) -> str:
    """Whom a request counts against for rate limiting: its token when valid, of either kind (hashed), else its
    source address."""
    token = presented_token(headers, query)
    if token is not None and _as_token_set(tokens).access(token) is not None:
        return "token#" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"ip#{ip}"
