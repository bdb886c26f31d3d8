"""Callbacks: after each attempt (`Upstash-Callback`) and once retries are spent (`Upstash-Failure-Callback`),
Postbox publishes a message of its own to the callback URL with QStash's payload; it is signed and retried
like any message."""

from __future__ import annotations

import base64
import json

from functions.core.models import AttemptResult, CallbackOptions, MessageRequest, Redaction
from functions.core.redaction import body_digest


def callback_payload(source: MessageRequest, result: AttemptResult, retried: int, dlq_id: str | None = None) -> bytes:
    """QStash's callback body: the attempt's response (body base64) and the source message (body base64)."""
    payload: dict[str, object] = {
        "status": result.status if result.status is not None else 0,
        "header": result.header,
        "body": base64.b64encode(result.body).decode(),
        "retried": retried,
        "maxRetries": source.max_retries,
        "sourceMessageId": source.message_id,
        "topicName": source.topic_name or "",
        "endpointName": source.endpoint_name or "",
        "url": source.url,
        "method": source.method,
        "sourceHeader": source.header,
        "sourceBody": base64.b64encode(source.body).decode(),
        "notBefore": str(source.not_before_ms),
        "createdAt": str(source.created_at_ms),
        "scheduleId": source.schedule_id or "",
        "callerIP": source.caller_ip or "",
    }
    if dlq_id is not None:
        payload["dlqId"] = dlq_id
    return json.dumps(payload, separators=(",", ":")).encode()


def callback_request(
    source: MessageRequest, options: CallbackOptions, payload: bytes, *, message_id: str, now_ms: int
) -> MessageRequest:
    """The callback message: to the callback URL, with its own method, headers, retries, timeout, retry delay."""
    return MessageRequest(
        message_id=message_id,
        url=options.url,
        method=options.method,
        header=options.header,
        body=payload,
        content_type="application/json",
        max_retries=options.retries if options.retries is not None else source.max_retries,
        not_before_ms=now_ms,
        created_at_ms=now_ms,
        caller_ip=source.caller_ip,
        labels=source.labels,
        retry_delay=options.retry_delay,
        timeout_s=options.timeout_s,
        callback_of=source.message_id,
        # The payload copies the source's body and headers: a source with redacted fields has its callbacks'
        # bodies redacted whole.
        redact=Redaction(body_sha256=body_digest(payload)) if source.redact else None,
    )
