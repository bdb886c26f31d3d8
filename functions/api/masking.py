"""What a read-only token sees of credentials: the values of credential-like headers (authorization, cookies,
keys, tokens, secrets, passwords) in any header map of an answer are masked. A full-access token, which can
publish with such headers itself, sees them as stored."""

from __future__ import annotations

import re
from typing import Any

MASKED = "[masked for a read-only token]"
# The header maps of the API's answers: messages, DLQ entries, log entries, schedules.
HEADER_FIELDS = frozenset(
    {
        "header",
        "callbackHeader",
        "failureCallbackHeader",
        "callbackHeaders",
        "failureCallbackHeaders",
        "responseHeader",
        "responseHeaders",
    }
)
_CREDENTIAL = re.compile(r"auth|cookie|key|token|secret|passw|credential|signature|session", re.IGNORECASE)


def is_credential_header(name: str) -> bool:
    return bool(_CREDENTIAL.search(name))


def masked(value: Any) -> Any:
    """A JSON value (an answer as it is about to be sent) with the credential-like headers of its header maps
    masked, at any depth."""
    if isinstance(value, list):
        return [masked(v) for v in value]
    if not isinstance(value, dict):
        return value
    return {
        key: _masked_headers(item) if key in HEADER_FIELDS and isinstance(item, dict) else masked(item)
        for key, item in value.items()
    }


def _masked_headers(header: dict[str, Any]) -> dict[str, Any]:
    return {
        name: ([MASKED] * len(values) if isinstance(values, list) else MASKED) if is_credential_header(name) else values
        for name, values in header.items()
    }
