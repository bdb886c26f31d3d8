"""Wire shape of a schedule (GET /v2/schedules, GET /v2/schedules/{id}), as the SDKs parse it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from functions.core.durations import parse_duration
from functions.core.models import MessageRequest
from functions.core.redaction import redact_headers, shown_body
from functions.messages.views import text_or_base64
from functions.schedules.service import ScheduleInfo
from functions.shared.errors import BadRequestError


class ScheduleView(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    schedule_id: str = Field(alias="scheduleId")
    destination: str
    cron: str
    created_at: int = Field(alias="createdAt")
    method: str
    retries: int
    header: dict[str, list[str]] | None = None
    body: str | None = None
    body_base64: str | None = Field(None, alias="bodyBase64")
    callback: str | None = None
    failure_callback: str | None = Field(None, alias="failureCallback")
    callback_header: dict[str, list[str]] | None = Field(None, alias="callbackHeader")
    failure_callback_header: dict[str, list[str]] | None = Field(None, alias="failureCallbackHeader")
    delay: int | None = Field(None, description="seconds")
    timeout: int | None = Field(None, description="seconds")
    caller_ip: str | None = Field(None, alias="callerIP")
    caller_ip_lower: str | None = Field(None, alias="callerIp")  # the OpenAPI document's spelling
    is_paused: bool = Field(alias="isPaused")
    queue_name: str | None = Field(None, alias="queueName")
    last_schedule_time: int | None = Field(None, alias="lastScheduleTime")
    next_schedule_time: int | None = Field(None, alias="nextScheduleTime")
    last_schedule_states: dict[str, str] | None = Field(None, alias="lastScheduleStates")
    error: str | None = None
    retry_delay_expression: str | None = Field(None, alias="retryDelayExpression")
    label: str | None = None
    labels: list[str] | None = None
    flow_control_key: str | None = Field(None, alias="flowControlKey")
    parallelism: int | None = None
    rate: int | None = None
    period: int | None = Field(None, description="seconds")


def schedule_view(info: ScheduleInfo) -> ScheduleView:
    schedule = info.schedule
    request = info.prepared.requests[0] if info.prepared and info.prepared.requests else None
    redact = request.redact if request else None
    body, body_base64 = text_or_base64(shown_body(schedule.body, redact)) if schedule.body else (None, None)
    flow = request.flow_control if request else None
    try:
        delay = (
            parse_duration(schedule.headers["upstash-delay"], "Upstash-Delay")
            if "upstash-delay" in schedule.headers
            else None
        )
    except BadRequestError:
        delay = None
    return ScheduleView(
        schedule_id=schedule.schedule_id,
        destination=schedule.destination,
        cron=schedule.cron,
        created_at=schedule.created_at_ms,
        method=request.method if request else schedule.headers.get("upstash-method", "POST").upper(),
        retries=request.max_retries if request else 0,
        header=_header(request) if request else None,
        body=body,
        body_base64=body_base64,
        callback=request.callback.url if request and request.callback else None,
        failure_callback=request.failure_callback.url if request and request.failure_callback else None,
        callback_header=(request.callback.header or None) if request and request.callback else None,
        failure_callback_header=(request.failure_callback.header or None)
        if request and request.failure_callback
        else None,
        delay=delay,
        timeout=int(request.timeout_s) if request and request.timeout_s else None,
        caller_ip=schedule.caller_ip,
        caller_ip_lower=schedule.caller_ip,
        is_paused=schedule.paused,
        queue_name=schedule.queue_name,
        last_schedule_time=schedule.last_schedule_time_ms if schedule.last_message_ids else None,
        next_schedule_time=info.next_time_ms,
        last_schedule_states=info.last_states or None,
        error=schedule.error,
        retry_delay_expression=request.retry_delay if request else None,
        label=request.label if request else None,
        labels=list(request.labels) or None if request else None,
        flow_control_key=flow.key if flow else None,
        parallelism=flow.parallelism if flow else None,
        rate=flow.rate if flow else None,
        period=flow.period_s if flow else None,
    )


def _header(request: MessageRequest) -> dict[str, list[str]] | None:
    """The headers each message is sent with: the forwarded ones and the Content-Type (redacted ones hidden)."""
    header = redact_headers(request.header, request.redact)
    if request.content_type:
        header = {"Content-Type": [request.content_type], **header}
    return header or None
