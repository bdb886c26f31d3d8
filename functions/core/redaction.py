"""Upstash-Redact-Fields: what the API shows in place of a redacted body or header value. No AWS types here.

A redacted value is shown as `REDACTED:<hex SHA-256 of the value>`, so a client can check a value it knows
without the API revealing it. The message is stored and delivered (and retried from the DLQ) as it was sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from functions.core.models import MessageRequest, Redaction

PREFIX = "REDACTED:"


def redacted(value: bytes | str) -> str:
    data = value.encode() if isinstance(value, str) else value
    return PREFIX + hashlib.sha256(data).hexdigest()


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def redact_headers(header: Mapping[str, list[str]], redact: Redaction | None) -> dict[str, list[str]]:
    """The headers as the API shows them: each redacted value replaced by its digest."""
    if redact is None or not (redact.all_headers or redact.headers):
        return dict(header)
    return {
        name: [redacted(v) for v in values] if redact.all_headers or name in redact.headers else list(values)
        for name, values in header.items()
    }


def shown_body(body: bytes, redact: Redaction | None) -> bytes:
    """The body as the API shows it."""
    if redact is None or redact.body_sha256 is None:
        return body
    return (PREFIX + redact.body_sha256).encode()


def shown_request(request: MessageRequest) -> MessageRequest:
    """The request as the API shows it (message and DLQ views): redacted body and headers replaced."""
    if request.redact is None:
        return request
    return request.model_copy(
        update={
            "body": shown_body(request.body, request.redact),
            "header": redact_headers(request.header, request.redact),
        }
    )
