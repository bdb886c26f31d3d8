"""Wire shapes of the QStash v2 API (seed pages 000-002) and how domain objects map onto them."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from functions.core.lifecycle import MessageState
from functions.core.models import DlqEntry, Message, MessageRequest
from functions.core.redaction import shown_request


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class PublishResponse(_Wire):
    message_id: str = Field(alias="messageId")
    url: str
    deduplicated: bool | None = None


class MessageView(_Wire):
    """`Message` of GET /v2/messages/{messageId}: optional fields are left out when they do not apply."""

    message_id: str = Field(alias="messageId")
    url: str
    topic_name: str | None = Field(None, alias="topicName")
    endpoint_name: str | None = Field(None, alias="endpointName")
    method: str
    header: dict[str, list[str]]
    body: str | None = None
    body_base64: str | None = Field(None, alias="bodyBase64")
    max_retries: int = Field(alias="maxRetries")
    not_before: int = Field(alias="notBefore")
    created_at: int = Field(alias="createdAt")
    callback: str | None = None
    failure_callback: str | None = Field(None, alias="failureCallback")
    callback_header: dict[str, list[str]] | None = Field(None, alias="callbackHeader")
    failure_callback_header: dict[str, list[str]] | None = Field(None, alias="failureCallbackHeader")
    retry_delay_expression: str | None = Field(None, alias="retryDelayExpression")
    queue_name: str | None = Field(None, alias="queueName")
    schedule_id: str | None = Field(None, alias="scheduleId")
    caller_ip: str | None = Field(None, alias="callerIP")
    label: str | None = None
    labels: list[str] | None = None
    flow_control_key: str | None = Field(None, alias="flowControlKey")
    rate: int | None = None
    period: int | None = None
    parallelism: int | None = None


class DlqMessageView(MessageView):
    """`DLQMessage` of GET /v2/dlq/{dlqId}: the message plus the last failed attempt's response."""

    dlq_id: str = Field(alias="dlqId")
    response_status: int = Field(alias="responseStatus")
    response_header: dict[str, list[str]] = Field(alias="responseHeader")
    response_body: str | None = Field(None, alias="responseBody")
    response_body_base64: str | None = Field(None, alias="responseBodyBase64")


class ErrorView(_Wire):
    error: str


def text_or_base64(data: bytes) -> tuple[str | None, str | None]:
    """(text, None) when the bytes are valid UTF-8, else (None, base64)."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, base64.b64encode(data).decode()


def _request_fields(request: MessageRequest) -> dict[str, object]:
    request = shown_request(request)  # redacted fields are never shown
    body, body_base64 = text_or_base64(request.body)
    return {
        "message_id": request.message_id,
        "url": request.url,
        "method": request.method,
        "header": request.header,
        "body": body,
        "body_base64": body_base64,
        "max_retries": request.max_retries,
        "not_before": request.not_before_ms,
        "created_at": request.created_at_ms,
        "caller_ip": request.caller_ip,
        "label": request.label,
        "labels": list(request.labels) or None,
        "topic_name": request.topic_name,
        "endpoint_name": request.endpoint_name,
        "queue_name": request.queue_name,
        "schedule_id": request.schedule_id,
        "callback": request.callback.url if request.callback else None,
        "failure_callback": request.failure_callback.url if request.failure_callback else None,
        "callback_header": request.callback.header or None if request.callback else None,
        "failure_callback_header": request.failure_callback.header or None if request.failure_callback else None,
        "retry_delay_expression": request.retry_delay,
        "flow_control_key": request.flow_control.key if request.flow_control else None,
        "rate": request.flow_control.rate if request.flow_control else None,
        "parallelism": request.flow_control.parallelism if request.flow_control else None,
        "period": request.flow_control.period_s if request.flow_control else None,
    }


def message_view(message: Message) -> MessageView:
    return MessageView.model_validate(_request_fields(message.request))


def dlq_message_view(entry: DlqEntry) -> DlqMessageView:
    response_body, response_body_base64 = text_or_base64(entry.response.body)
    return DlqMessageView.model_validate(
        {
            **_request_fields(entry.request),
            "dlq_id": entry.dlq_id,
            "response_status": entry.response.status or 0,
            "response_header": entry.response.header,
            "response_body": response_body,
            "response_body_base64": response_body_base64,
        }
    )


class PublishedView(_Wire):
    message_id: str = Field(alias="messageId")
    deduplicated: bool | None = None


class DlqListView(_Wire):
    cursor: str | None = None  # left out on the last page
    messages: list[DlqMessageView]


class CancelledView(_Wire):
    cancelled: int


class DeletedView(_Wire):
    deleted: int
    cursor: str | None = None


class RetriedView(_Wire):
    cursor: str | None = None
    responses: list[PublishedView]


class SigningKeysView(_Wire):
    current: str
    next: str


# --- /v1 (seed 003: the message-details view with a status lifecycle) ----------------------------------

V1_STATUS = {
    MessageState.CREATED: "queued",
    MessageState.ACTIVE: "delivering",
    MessageState.RETRY: "pending_retry",
    MessageState.DELIVERED: "succeeded",
    MessageState.FAILED: "failed_permanent",
    MessageState.CANCEL_REQUESTED: "delivering",
    MessageState.CANCELED: "cancelled",
}


class V1Meta(BaseModel):
    request_id: str


class V1MessageData(BaseModel):
    id: str
    project_id: str
    endpoint_id: str
    status: str
    attempt_count: int
    replay_count: int
    content_type: str | None = None
    size_bytes: int
    payload_sha256: str
    idempotency_key: str | None = None
    next_attempt_at: str | None = None
    last_error: str | None = None
    response_status: int | None = None
    response_latency_ms: int | None = None
    created_at: str
    updated_at: str


class V1MessageView(BaseModel):
    data: V1MessageData
    meta: V1Meta


class V1ErrorBody(BaseModel):
    code: str
    message: str


class V1ErrorView(BaseModel):
    error: V1ErrorBody
    meta: V1Meta


V1_ERROR_CODES = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    404: "NOT_FOUND",
    413: "PAYLOAD_TOO_LARGE",
    429: "RATE_LIMITED",
    503: "UNAVAILABLE",
}


def rfc3339(unix_ms: int) -> str:
    moment = datetime.fromtimestamp(unix_ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def endpoint_id(request: MessageRequest) -> str:
    """The URL group endpoint a message went to, else its destination: a stable id either way."""
    key = f"{request.topic_name}/{request.endpoint_name or request.url}" if request.topic_name else request.url
    return "ep_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def v1_message_view(message: Message, *, project_id: str, request_id: str) -> V1MessageView:
    request, status = message.request, message.status
    state = MessageState.CANCEL_REQUESTED if status.cancel_requested and not status.state.is_final else status.state
    return V1MessageView(
        data=V1MessageData(
            id=request.message_id,
            project_id=project_id,
            endpoint_id=endpoint_id(request),
            status=V1_STATUS[state],
            attempt_count=status.attempts,
            replay_count=request.replay_count,
            content_type=request.content_type,
            size_bytes=len(request.body),
            payload_sha256=hashlib.sha256(request.body).hexdigest(),
            idempotency_key=request.dedup_id,
            next_attempt_at=rfc3339(status.next_delivery_at_ms) if status.state == MessageState.RETRY else None,
            last_error=status.last_error or _status_error(status.last_response_status),
            response_status=status.last_response_status,
            response_latency_ms=status.last_latency_ms if status.attempts else None,
            created_at=rfc3339(request.created_at_ms),
            updated_at=rfc3339(status.updated_at_ms),
        ),
        meta=V1Meta(request_id=request_id),
    )


def _status_error(response_status: int | None) -> str | None:
    if response_status is None or 200 <= response_status < 300:
        return None
    return f"destination answered {response_status}"


def v1_error_view(status_code: int, message: str, request_id: str) -> V1ErrorView:
    code = V1_ERROR_CODES.get(status_code, "INTERNAL_ERROR")
    return V1ErrorView(error=V1ErrorBody(code=code, message=message), meta=V1Meta(request_id=request_id))
