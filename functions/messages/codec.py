"""How a MessageRequest is laid out in DynamoDB items (the messages table and the DLQ table share it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from functions.messages.models import MessageRequest


def request_attributes(request: MessageRequest) -> dict[str, Any]:
    """The request's attributes (without the message id, which each table keys its own way)."""
    return {
        "url": request.url,
        "method": request.method,
        "header": request.header or None,
        "body": request.body,
        "contentType": request.content_type,
        "maxRetries": request.max_retries,
        "notBefore": request.not_before_ms,
        "createdAt": request.created_at_ms,
        "callerIp": request.caller_ip,
        "label": request.label,
    }


def request_from_attributes(message_id: str, item: Mapping[str, Any]) -> MessageRequest:
    return MessageRequest(
        message_id=message_id,
        url=item["url"],
        method=item["method"],
        header=header_map(item.get("header")),
        body=item.get("body", b""),
        content_type=item.get("contentType"),
        max_retries=int(item["maxRetries"]),
        not_before_ms=int(item["notBefore"]),
        created_at_ms=int(item["createdAt"]),
        caller_ip=item.get("callerIp"),
        label=item.get("label"),
    )


def header_map(stored: Mapping[str, Any] | None) -> dict[str, list[str]]:
    return {name: list(vals) for name, vals in (stored or {}).items()}
