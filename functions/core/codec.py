"""How a MessageRequest is laid out in DynamoDB items (the messages table and the DLQ table share it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from functions.core.models import CallbackOptions, FlowControl, MessageRequest, Redaction


def request_attributes(request: MessageRequest) -> dict[str, Any]:
    """The request's attributes (without the message id, which each table keys its own way). The body is stored
    inline unless it has a `body_ref` (claim check): then only the reference is."""
    return {
        "url": request.url,
        "method": request.method,
        "header": request.header or None,
        "body": None if request.body_ref else request.body,
        "bodyRef": request.body_ref,
        "contentType": request.content_type,
        "maxRetries": request.max_retries,
        "notBefore": request.not_before_ms,
        "createdAt": request.created_at_ms,
        "callerIp": request.caller_ip,
        "labels": list(request.labels) or None,
        "retryDelay": request.retry_delay,
        "timeout": _decimal(request.timeout_s),
        "callback": _callback_attributes(request.callback),
        "failureCallback": _callback_attributes(request.failure_callback),
        "dedupId": request.dedup_id,
        "replayCount": request.replay_count or None,
        "callbackOf": request.callback_of,
        "topicName": request.topic_name,
        "endpointName": request.endpoint_name,
        "queueName": request.queue_name,
        "scheduleId": request.schedule_id,
        **flow_attributes(request.flow_control),
        "redact": redaction_attribute(request.redact),
    }


def request_from_attributes(message_id: str, item: Mapping[str, Any], body: bytes | None = None) -> MessageRequest:
    """The request stored in `item`; `body` is the claim-checked body when the item holds only a reference."""
    return MessageRequest(
        message_id=message_id,
        url=item["url"],
        method=item["method"],
        header=header_map(item.get("header")),
        body=body if body is not None else item.get("body", b""),
        body_ref=item.get("bodyRef"),
        content_type=item.get("contentType"),
        max_retries=int(item["maxRetries"]),
        not_before_ms=int(item["notBefore"]),
        created_at_ms=int(item["createdAt"]),
        caller_ip=item.get("callerIp"),
        labels=tuple(item.get("labels") or ()),
        retry_delay=item.get("retryDelay"),
        timeout_s=float(item["timeout"]) if item.get("timeout") is not None else None,
        callback=_callback(item.get("callback")),
        failure_callback=_callback(item.get("failureCallback")),
        dedup_id=item.get("dedupId"),
        replay_count=int(item.get("replayCount", 0)),
        callback_of=item.get("callbackOf"),
        topic_name=item.get("topicName"),
        endpoint_name=item.get("endpointName"),
        queue_name=item.get("queueName"),
        schedule_id=item.get("scheduleId"),
        flow_control=flow_from_attributes(item),
        redact=redaction_from_attribute(item.get("redact")),
    )


def header_map(stored: Mapping[str, Any] | None) -> dict[str, list[str]]:
    return {name: list(vals) for name, vals in (stored or {}).items()}


def _decimal(value: float | None) -> Any:
    from decimal import Decimal

    return None if value is None else Decimal(str(value))


def _callback_attributes(options: CallbackOptions | None) -> dict[str, Any] | None:
    if options is None:
        return None
    values = {
        "url": options.url,
        "method": options.method,
        "header": options.header or None,
        "retries": options.retries,
        "timeout": _decimal(options.timeout_s),
        "retryDelay": options.retry_delay,
    }
    return {k: v for k, v in values.items() if v is not None}


def _callback(stored: Mapping[str, Any] | None) -> CallbackOptions | None:
    if not stored:
        return None
    return CallbackOptions(
        url=stored["url"],
        method=stored.get("method", "POST"),
        header=header_map(stored.get("header")),
        retries=int(stored["retries"]) if stored.get("retries") is not None else None,
        timeout_s=float(stored["timeout"]) if stored.get("timeout") is not None else None,
        retry_delay=stored.get("retryDelay"),
    )


def flow_attributes(flow: FlowControl | None) -> dict[str, Any]:
    if flow is None:
        return {}
    return {
        "flowControlKey": flow.key,
        "flowParallelism": flow.parallelism,
        "flowRate": flow.rate,
        "flowPeriod": flow.period_s,
    }


def flow_from_attributes(item: Mapping[str, Any]) -> FlowControl | None:
    if not item.get("flowControlKey"):
        return None
    return FlowControl(
        key=item["flowControlKey"],
        parallelism=int(item["flowParallelism"]) if item.get("flowParallelism") is not None else None,
        rate=int(item["flowRate"]) if item.get("flowRate") is not None else None,
        period_s=int(item.get("flowPeriod", 1)),
    )


def redaction_attribute(redact: Redaction | None) -> dict[str, Any] | None:
    """Upstash-Redact-Fields as stored: the redacted body's digest, and `["*"]` or the redacted header names."""
    if redact is None:
        return None
    headers = ["*"] if redact.all_headers else sorted(redact.headers)
    stored = {"bodySha256": redact.body_sha256, "headers": headers or None}
    return {k: v for k, v in stored.items() if v is not None}


def redaction_from_attribute(stored: Mapping[str, Any] | None) -> Redaction | None:
    if not stored:
        return None
    headers = list(stored.get("headers") or ())
    return Redaction(
        body_sha256=stored.get("bodySha256"),
        all_headers=headers == ["*"],
        headers=frozenset() if headers == ["*"] else frozenset(headers),
    )
