"""Request shapes of the API beyond publish: query strings and JSON bodies, validated with pydantic."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, field_validator

from functions.dlq.repository import DlqFilter
from functions.events.repository import EventFilter
from functions.messages.models import MessageState
from functions.messages.repository import PendingFilter
from functions.shared.errors import BadRequestError


class Order(StrEnum):
    LATEST_FIRST = "latestFirst"
    EARLIEST_FIRST = "earliestFirst"


def _split(value: Any) -> Any:
    """API Gateway joins repeated query parameters with commas; JSON bodies send lists."""
    if isinstance(value, str):
        return [part for part in (p.strip() for p in value.split(",")) if part]
    return value


class _Request(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", str_strip_whitespace=True)


_RequestT = TypeVar("_RequestT", bound=_Request)


class MessageFilter(_Request):
    url: str | None = None
    label: str | None = None
    caller_ip: str | None = Field(None, alias="callerIp")
    from_date: int | None = Field(None, alias="fromDate", ge=0)
    to_date: int | None = Field(None, alias="toDate", ge=0)

    def to_pending_filter(self) -> PendingFilter:
        return PendingFilter(
            url=self.url, label=self.label, caller_ip=self.caller_ip, from_ms=self.from_date, to_ms=self.to_date
        )

    @property
    def is_empty(self) -> bool:
        return not any((self.url, self.label, self.caller_ip, self.from_date, self.to_date))


class CancelRequest(MessageFilter):
    """DELETE /v2/messages: ids (JSON body or query), or filters; nothing at all cancels every pending message."""

    message_ids: list[str] | None = Field(None, alias="messageIds")

    @field_validator("message_ids", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _split(value)


class DlqQuery(_Request):
    cursor: str | None = None
    count: int = Field(100, ge=1, le=100)
    order: Order = Order.LATEST_FIRST
    message_id: str | None = Field(None, alias="messageId")
    url: str | None = None
    topic_name: str | None = Field(None, alias="topicName")
    schedule_id: str | None = Field(None, alias="scheduleId")
    queue_name: str | None = Field(None, alias="queueName")
    label: str | None = None
    response_status: int | None = Field(None, alias="responseStatus", ge=100, le=599)
    caller_ip: str | None = Field(None, alias="callerIp")
    from_date: int | None = Field(None, alias="fromDate", ge=0)
    to_date: int | None = Field(None, alias="toDate", ge=0)
    dlq_ids: list[str] | None = Field(None, alias="dlqIds")

    @field_validator("dlq_ids", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _split(value)

    def to_filter(self) -> DlqFilter:
        return DlqFilter(
            message_id=self.message_id,
            url=self.url,
            topic_name=self.topic_name,
            schedule_id=self.schedule_id,
            queue_name=self.queue_name,
            label=self.label,
            response_status=self.response_status,
            caller_ip=self.caller_ip,
            from_ms=self.from_date,
            to_ms=self.to_date,
        )


def parse(model: type[_RequestT], *sources: Mapping[str, Any] | None) -> _RequestT:
    """Validate the merged sources (later ones win) into `model`; any problem is a 400 naming the field."""
    merged: dict[str, Any] = {}
    for source in sources:
        for key, value in (source or {}).items():
            merged[key.removesuffix("[]")] = value  # `messageIds[]=a` is accepted as `messageIds`
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        raise BadRequestError(f"invalid request: {describe(exc)}") from exc


def describe(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())


class EventQuery(_Request):
    """GET /v2/events and /v2/logs query."""

    cursor: str | None = None
    count: int | None = Field(None, ge=1)
    order: Order = Order.LATEST_FIRST
    message_id: str | None = Field(None, alias="messageId")
    message_ids: list[str] | None = Field(None, alias="messageIds")
    state: str | None = None
    url: str | None = None
    topic_name: str | None = Field(None, alias="topicName")
    queue_name: str | None = Field(None, alias="queueName")
    schedule_id: str | None = Field(None, alias="scheduleId")
    label: str | None = None
    from_date: int | None = Field(None, alias="fromDate", ge=0)
    to_date: int | None = Field(None, alias="toDate", ge=0)

    @field_validator("message_ids", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("state")
    @classmethod
    def _state(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in EVENT_STATE_FILTERS:
            raise ValueError(f"must be one of {', '.join(sorted(EVENT_STATE_FILTERS))}")
        return value.upper() if value is not None else None

    def page_size(self, default: int, maximum: int) -> int:
        if self.count is not None and self.count > maximum:
            raise BadRequestError(f"invalid request: count must be at most {maximum}")
        return self.count or default

    def to_filter(self) -> EventFilter:
        ids = [*(self.message_ids or []), *([self.message_id] if self.message_id else [])]
        return EventFilter(
            message_ids=tuple(ids),
            states=EVENT_STATE_FILTERS[self.state] if self.state else (),
            url=self.url,
            topic_name=self.topic_name,
            queue_name=self.queue_name,
            schedule_id=self.schedule_id,
            label=self.label,
            from_ms=self.from_date,
            to_ms=self.to_date,
        )


# `state` filter values: every state, IN_PROGRESS (active, waiting for a retry, or erroring), and the
# docs' spelling CANCELLED next to the SDKs' CANCELED.
EVENT_STATE_FILTERS: dict[str, tuple[str, ...]] = {
    **{state.value: (state.value,) for state in MessageState},
    "ERROR": ("ERROR",),
    "IN_PROGRESS": (MessageState.ACTIVE.value, MessageState.RETRY.value, "ERROR"),
    "CANCELLED": (MessageState.CANCELED.value,),
}


class EndpointEntry(_Request):
    url: str | None = None
    name: str | None = None


class EndpointsRequest(_Request):
    """POST/DELETE /v2/topics/{name}/endpoints: `{"endpoints": [{"url", "name"?}]}`."""

    endpoints: list[EndpointEntry] = Field(min_length=1)


class BatchEntry(_Request):
    """One entry of POST /v2/batch, as the SDKs send it (null keys present)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    destination: str = Field(min_length=1)
    headers: dict[str, str] | None = None
    body: str | None = None
    queue: str | None = None


class BatchRequest(RootModel[list[BatchEntry]]):
    pass


def parse_batch(data: bytes) -> list[BatchEntry]:
    try:
        return BatchRequest.model_validate_json(data or b"null").root
    except ValidationError as exc:
        raise BadRequestError(f"invalid batch: {describe(exc)}") from exc


class QueueUpsertRequest(_Request):
    """POST /v2/queues: `{"queueName", "parallelism"?, "paused"?}`."""

    queue_name: str = Field(alias="queueName", min_length=1)
    parallelism: int | None = None
    paused: bool | None = None


class PinQuery(_Request):
    parallelism: int | None = Field(None, ge=1)
    rate: int | None = Field(None, ge=1)
    period: int | None = Field(None, ge=1, description="seconds")


class UnpinQuery(_Request):
    parallelism: bool = False
    rate: bool = False
