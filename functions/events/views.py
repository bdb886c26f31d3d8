"""Wire shape of QStash's LogEntry (GET /v2/events, GET /v2/logs)."""

from __future__ import annotations

import base64

from pydantic import BaseModel, ConfigDict, Field

from functions.core.events import MessageEvent


class LogEntryView(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    time: int
    message_id: str = Field(alias="messageId")
    state: str
    url: str
    error: str | None = None
    next_delivery_time: int | None = Field(None, alias="nextDeliveryTime")
    topic_name: str | None = Field(None, alias="topicName")
    endpoint_name: str | None = Field(None, alias="endpointName")
    queue_name: str | None = Field(None, alias="queueName")
    schedule_id: str | None = Field(None, alias="scheduleId")
    header: dict[str, list[str]] | None = None
    body: str | None = Field(None, description="base64")
    response_status: int | None = Field(None, alias="responseStatus")
    response_header: dict[str, list[str]] | None = Field(None, alias="responseHeader")
    response_headers: dict[str, list[str]] | None = Field(None, alias="responseHeaders")
    response_body: str | None = Field(None, alias="responseBody", description="base64")
    timeout: int | None = Field(None, description="ms")
    method: str | None = None
    callback: str | None = None
    callback_headers: dict[str, list[str]] | None = Field(None, alias="callbackHeaders")
    failure_callback: str | None = Field(None, alias="failureCallback")
    failure_callback_headers: dict[str, list[str]] | None = Field(None, alias="failureCallbackHeaders")
    max_retries: int | None = Field(None, alias="maxRetries")
    label: str | None = None
    labels: list[str] | None = None
    flow_control_key: str | None = Field(None, alias="flowControlKey")
    # The Python SDK reads `retryDelayExpr`, the OpenAPI document says `retryDelayExpression`: both are sent.
    retry_delay_expr: str | None = Field(None, alias="retryDelayExpr")
    retry_delay_expression: str | None = Field(None, alias="retryDelayExpression")


class EventsView(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    cursor: str | None = None
    events: list[LogEntryView]


class LogsView(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    cursor: str | None = None
    logs: list[LogEntryView]


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode() if data else None


def log_entry_view(event: MessageEvent) -> LogEntryView:
    return LogEntryView(
        time=event.time_ms,
        message_id=event.message_id,
        state=event.state.value,
        url=event.url,
        error=event.error,
        next_delivery_time=event.next_delivery_time_ms,
        topic_name=event.topic_name,
        endpoint_name=event.endpoint_name,
        queue_name=event.queue_name,
        schedule_id=event.schedule_id,
        header=event.header,
        body=_b64(event.body),
        response_status=event.response_status,
        response_header=event.response_header,
        response_headers=event.response_header,
        response_body=_b64(event.response_body),
        timeout=int(event.timeout_s * 1000) if event.timeout_s is not None else None,
        method=event.method,
        callback=event.callback,
        callback_headers=event.callback_header,
        failure_callback=event.failure_callback,
        failure_callback_headers=event.failure_callback_header,
        max_retries=event.max_retries,
        label=event.labels[0] if event.labels else None,
        labels=list(event.labels) or None,
        flow_control_key=event.flow_control_key,
        retry_delay_expr=event.retry_delay,
        retry_delay_expression=event.retry_delay,
    )
