"""The event log: one entry per state change of a message, QStash's LogEntry in domain form."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from functions.core.lifecycle import MessageState
from functions.core.models import AttemptResult, MessageRequest
from functions.core.redaction import redact_headers

MAX_LOGGED_BODY_BYTES = 4096  # bodies (and responses) shown in the log up to this size

# The states whose log entries show the message's body. The body is not copied into the event items (each copy
# would be written twice, in a transaction, and again into the `byTime` index): readers fill it in from the
# message's request item, which is kept as long as the log is.
BODY_STATES = frozenset({MessageState.CREATED, MessageState.RETRY, MessageState.DELIVERED, MessageState.FAILED})


class MessageEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    message_id: str
    event_id: str = Field(description="UUIDv7: orders the events of a message and of a day")
    time_ms: int
    state: MessageState
    url: str
    method: str | None = None
    header: dict[str, list[str]] | None = None
    body: bytes | None = None
    labels: tuple[str, ...] = ()
    caller_ip: str | None = None
    flow_control_key: str | None = None
    topic_name: str | None = None
    endpoint_name: str | None = None
    queue_name: str | None = None
    schedule_id: str | None = None
    max_retries: int | None = None
    retry_delay: str | None = None
    timeout_s: float | None = None
    callback: str | None = None
    callback_header: dict[str, list[str]] | None = None
    failure_callback: str | None = None
    failure_callback_header: dict[str, list[str]] | None = None
    response_status: int | None = None
    response_header: dict[str, list[str]] | None = None
    response_body: bytes | None = None
    error: str | None = None
    next_delivery_time_ms: int | None = None
    attempt: int | None = None


def request_event(
    request: MessageRequest,
    state: MessageState,
    *,
    event_id: str,
    time_ms: int,
    result: AttemptResult | None = None,
    next_delivery_time_ms: int | None = None,
    attempt: int | None = None,
) -> MessageEvent:
    """An event of a message whose request is at hand (publish, attempt outcomes); its body is not copied."""
    return MessageEvent(
        message_id=request.message_id,
        event_id=event_id,
        time_ms=time_ms,
        state=state,
        url=request.url,
        method=request.method,
        header=redact_headers(request.header, request.redact) or None,  # the log never shows a redacted value
        labels=request.labels,
        caller_ip=request.caller_ip,
        flow_control_key=request.flow_control.key if request.flow_control else None,
        topic_name=request.topic_name,
        endpoint_name=request.endpoint_name,
        queue_name=request.queue_name,
        schedule_id=request.schedule_id,
        max_retries=request.max_retries,
        retry_delay=request.retry_delay,
        timeout_s=request.timeout_s,
        callback=request.callback.url if request.callback else None,
        callback_header=(request.callback.header or None) if request.callback else None,
        failure_callback=request.failure_callback.url if request.failure_callback else None,
        failure_callback_header=(request.failure_callback.header or None) if request.failure_callback else None,
        response_status=result.status if result else None,
        response_header=(result.header or None) if result else None,
        response_body=result.body[:MAX_LOGGED_BODY_BYTES] if result else None,
        error=result.error if result else None,
        next_delivery_time_ms=next_delivery_time_ms,
        attempt=attempt,
    )
