"""Request shapes of the API beyond publish: query strings and JSON bodies, validated with pydantic."""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from functions.dlq.repository import DlqFilter
from functions.events.repository import EventFilter
from functions.flow.models import MAX_PERIOD_S
from functions.messages.models import MessageState
from functions.messages.repository import PendingFilter
from functions.shared.errors import BadRequestError


class Order(StrEnum):
    LATEST_FIRST = "latestFirst"
    EARLIEST_FIRST = "earliestFirst"


def _split(value: Any, info: ValidationInfo) -> Any:
    """API Gateway joins repeated query parameters with commas; JSON bodies send lists (a string is refused)."""
    if isinstance(value, str) and info.mode == "python":
        return [part for part in (p.strip() for p in value.split(",")) if part]
    return value


class _Request(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", str_strip_whitespace=True)

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        start, end = getattr(self, "from_date", None), getattr(self, "to_date", None)
        if start is not None and end is not None and start > end:
            raise ValueError("fromDate must not be after toDate")
        return self


_RequestT = TypeVar("_RequestT", bound=_Request)

# The largest unix milliseconds an id can carry (a UUIDv7's 48 bits: the year 10889); `fromDate`/`toDate` are
# compared with those ids and stored numbers, and nothing is dated later.
MAX_UNIX_MS = (1 << 48) - 1
MAX_FLOW_LIMIT = 999_999_999  # as Upstash-Flow-Control-Value allows

# Ids, keys and names become DynamoDB keys, which hold at most 2048 bytes (1024 in a sort key), prefixes included;
# a deduplication id, which also finds a message, may have 512 characters.
MAX_ID_LENGTH = 1000
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ID_LENGTH)]


def path_id(value: str, what: str) -> str:
    """A path parameter naming something by id or key (it is as the client sent it, percent-encoded): 400 when it
    is too long to be a key, where the table would refuse the lookup."""
    if len(value) > MAX_ID_LENGTH:
        raise BadRequestError(f"invalid {what}: at most {MAX_ID_LENGTH} characters")
    return value


class MessageFilter(_Request):
    url: str | None = None
    label: str | None = None
    caller_ip: str | None = Field(None, alias="callerIp")
    from_date: int | None = Field(None, alias="fromDate", ge=0, le=MAX_UNIX_MS)
    to_date: int | None = Field(None, alias="toDate", ge=0, le=MAX_UNIX_MS)

    def to_pending_filter(self) -> PendingFilter:
        return PendingFilter(
            url=self.url, label=self.label, caller_ip=self.caller_ip, from_ms=self.from_date, to_ms=self.to_date
        )

    @property
    def is_empty(self) -> bool:
        return not any((self.url, self.label, self.caller_ip, self.from_date, self.to_date))


class CancelRequest(MessageFilter):
    """DELETE /v2/messages: ids (JSON body or query), or filters; nothing at all cancels every pending message."""

    message_ids: list[Id] | None = Field(None, alias="messageIds")

    @field_validator("message_ids", mode="before")
    @classmethod
    def _ids(cls, value: Any, info: ValidationInfo) -> Any:
        return _split(value, info)


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
    from_date: int | None = Field(None, alias="fromDate", ge=0, le=MAX_UNIX_MS)
    to_date: int | None = Field(None, alias="toDate", ge=0, le=MAX_UNIX_MS)
    dlq_ids: list[Id] | None = Field(None, alias="dlqIds")

    @field_validator("dlq_ids", mode="before")
    @classmethod
    def _ids(cls, value: Any, info: ValidationInfo) -> Any:
        return _split(value, info)

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


def parse(
    model: type[_RequestT], query: Mapping[str, Any] | None = None, body: Mapping[str, Any] | None = None
) -> _RequestT:
    """Validate the query and the JSON body into `model`, each on its own, so that neither hides a mistake in the
    other; the body's fields win. Query values are strings read as the field's type (`count=5`); a JSON body is
    read strictly, as JSON types (`"paused": 0` is not a boolean). Any problem is a 400 naming the field."""
    values: dict[str, Any] = {}
    try:
        if query:  # `messageIds[]=a` is read as `messageIds=a`
            given = model.model_validate({key.removesuffix("[]"): value for key, value in query.items()})
            values |= {name: getattr(given, name) for name in given.model_fields_set}
        if body is not None:
            given = model.model_validate_json(json.dumps(body), strict=True)
            values |= {name: getattr(given, name) for name in given.model_fields_set}
        return model.model_validate(values)
    except ValidationError as exc:
        raise BadRequestError(f"invalid request: {describe(exc)}") from exc


def describe(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}".removeprefix(": ") for e in exc.errors())


class EventQuery(_Request):
    """GET /v2/events and /v2/logs query."""

    cursor: str | None = None
    count: int | None = Field(None, ge=1)
    order: Order = Order.LATEST_FIRST
    message_id: str | None = Field(None, alias="messageId")
    message_ids: list[Id] | None = Field(None, alias="messageIds")
    state: str | None = None
    url: str | None = None
    topic_name: str | None = Field(None, alias="topicName")
    queue_name: str | None = Field(None, alias="queueName")
    schedule_id: str | None = Field(None, alias="scheduleId")
    label: str | None = None
    from_date: int | None = Field(None, alias="fromDate", ge=0, le=MAX_UNIX_MS)
    to_date: int | None = Field(None, alias="toDate", ge=0, le=MAX_UNIX_MS)

    @field_validator("message_ids", mode="before")
    @classmethod
    def _ids(cls, value: Any, info: ValidationInfo) -> Any:
        return _split(value, info)

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
    parallelism: int | None = Field(None, ge=1, le=MAX_FLOW_LIMIT)
    rate: int | None = Field(None, ge=1, le=MAX_FLOW_LIMIT)
    period: int | None = Field(None, ge=1, le=MAX_PERIOD_S, description="seconds")


class UnpinQuery(_Request):
    parallelism: bool = False
    rate: bool = False
