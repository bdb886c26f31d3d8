"""Request shapes of the API beyond publish: query strings and JSON bodies, validated with pydantic."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import Annotated, Any, Self, TypeVar, get_args, get_origin
from urllib.parse import unquote

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from functions.core.filters import RecordFilter
from functions.core.lifecycle import MessageState
from functions.flow.parsing import MAX_PERIOD_S
from functions.shared.errors import BadRequestError


class Order(StrEnum):
    LATEST_FIRST = "latestFirst"
    EARLIEST_FIRST = "earliestFirst"


class _Request(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", str_strip_whitespace=True)

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        start, end = getattr(self, "from_date", None), getattr(self, "to_date", None)
        if start is not None and end is not None and start > end:
            raise ValueError("fromDate must not be after toDate")
        return self


class _Strict(_Request):
    """A request whose every parameter is known: any other is a 400 naming it, never ignored."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", str_strip_whitespace=True)


_RequestT = TypeVar("_RequestT", bound=_Request)

# The largest unix milliseconds an id can carry (a UUIDv7's 48 bits: the year 10889); `fromDate`/`toDate` are
# compared with those ids and stored numbers, and nothing is dated later.
MAX_UNIX_MS = (1 << 48) - 1
MAX_FLOW_LIMIT = 999_999_999  # as Upstash-Flow-Control-Value allows

# Ids, keys and names become DynamoDB keys, which hold at most 2048 bytes (1024 in a sort key), prefixes included;
# a deduplication id, which also finds a message, may have 512 characters.
MAX_ID_LENGTH = 1000
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ID_LENGTH)]
# How many values one filter field, and one id list, may hold.
MAX_FILTER_VALUES = 100
MAX_IDS = 100  # ids of one bulk call: each is a transaction of its own, within the API's timeout


class CommaSeparated:
    """Marks a filter whose values hold no comma (ids, names, labels, statuses): a query value `a,b` is two
    values, as API Gateway joins a repeated parameter. Other filters (a URL, a path, a flow-control key) may hold
    commas: only repeating the parameter gives them several values."""


_COMMAS = CommaSeparated()
Ids = Annotated[list[Id], Field(max_length=MAX_IDS), _COMMAS]
Names = Annotated[list[Id], Field(max_length=MAX_FILTER_VALUES), _COMMAS]
Texts = Annotated[list[Id], Field(max_length=MAX_FILTER_VALUES)]
Statuses = Annotated[list[int], Field(max_length=MAX_FILTER_VALUES), _COMMAS]
UnixMs = Annotated[int, Field(ge=0, le=MAX_UNIX_MS, description="unix milliseconds")]


def path_id(value: str, what: str) -> str:
    """A path parameter naming something by id or key, percent-decoded (a deduplication id may hold a space or a
    `/`): 400 when it is too long to be a key, where the table would refuse the lookup."""
    decoded = unquote(value)
    if len(decoded) > MAX_ID_LENGTH:
        raise BadRequestError(f"invalid {what}: at most {MAX_ID_LENGTH} characters")
    return decoded


def _tuple(values: list[Any] | None) -> tuple[Any, ...] | None:
    return None if values is None else tuple(dict.fromkeys(values))


class _Filters(_Strict):
    """The filters every list and bulk route takes. Each filter takes several values (repeated, or comma-separated
    where a value holds no comma), any of which matches; a record must match every filter given."""

    url: Texts | None = Field(None, description="destination URL")
    topic_name: Names | None = Field(None, alias="topicName", description="URL group")
    schedule_id: Names | None = Field(None, alias="scheduleId")
    queue_name: Names | None = Field(None, alias="queueName")
    caller_ip: Names | None = Field(None, alias="callerIp", description="the publisher's IP address")
    label: Names | None = Field(None, description="any of the message's labels")
    flow_control_key: Texts | None = Field(None, alias="flowControlKey")
    from_date: UnixMs | None = Field(None, alias="fromDate")
    to_date: UnixMs | None = Field(None, alias="toDate")

    def to_filter(self) -> RecordFilter:
        return RecordFilter(
            message_ids=_tuple(getattr(self, "message_id", None)),
            urls=_tuple(self.url),
            hosts=_tuple(getattr(self, "host", None)),
            paths=_tuple(getattr(self, "path", None)),
            topic_names=_tuple(self.topic_name),
            schedule_ids=_tuple(self.schedule_id),
            queue_names=_tuple(self.queue_name),
            caller_ips=_tuple(self.caller_ip),
            labels=_tuple(self.label),
            flow_control_keys=_tuple(self.flow_control_key),
            response_statuses=_tuple(getattr(self, "response_status", None)),
            states=_tuple(getattr(self, "state", None)),
            from_ms=self.from_date,
            to_ms=self.to_date,
        )


class _DestinationFilters(_Filters):
    host: Names | None = Field(None, description="destination host, with or without its port")
    path: Texts | None = Field(None, description="destination path, exactly")


class CancelRequest(_DestinationFilters):
    """DELETE /v2/messages: ids (JSON body or query), or filters; nothing at all cancels every pending message."""

    message_ids: Ids | None = Field(None, alias="messageIds", description="an empty list cancels nothing")
    count: int | None = Field(None, ge=1, le=500, description="cancel at most this many (default: every match)")


class DlqQuery(_Filters):
    """GET /v2/dlq, DELETE /v2/dlq and POST /v2/dlq/retry: ids or filters (or nothing: every entry, page by page)."""

    cursor: str | None = None
    count: int = Field(100, ge=1, le=100)
    order: Order = Order.LATEST_FIRST
    message_id: Names | None = Field(None, alias="messageId")
    response_status: Statuses | None = Field(
        None, alias="responseStatus", description="the last response's status; values outside 100-599 match nothing"
    )
    dlq_ids: Ids | None = Field(None, alias="dlqIds", description="an empty list selects nothing")

    @model_validator(mode="after")
    def _ids_take_no_pages(self) -> Self:
        if self.dlq_ids is not None and self.model_fields_set & {"cursor", "count"}:
            raise ValueError("dlqIds selects the entries itself: it takes no cursor or count")
        return self


def _fields_by_alias(model: type[BaseModel]) -> dict[str, tuple[str, FieldInfo]]:
    return {field.alias or name: (name, field) for name, field in model.model_fields.items()}


def _list_metadata(field: FieldInfo) -> tuple[Any, ...] | None:
    """The metadata of a list field (`Ids | None` and the like); None for a field that is not a list."""
    for option in (field.annotation, *get_args(field.annotation)):
        if get_origin(option) is Annotated:
            inner, *metadata = get_args(option)
            if get_origin(inner) is list:
                return tuple(metadata)
        elif get_origin(option) is list:
            return ()
    return None


def _check_names(known: Mapping[str, object], names: Iterable[str], where: str) -> None:
    for name in names:
        if name not in known:
            raise BadRequestError(f"unknown {where} parameter {name!r}: this route takes {', '.join(sorted(known))}")


def _gathered(known: Mapping[str, tuple[str, FieldInfo]], pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The values of each query parameter: a list for a list field (split at commas where its values hold none,
    empty values dropped: `?dlqIds=` is an empty list), the one value otherwise. An unknown name, or a single-valued
    one given twice, is a 400."""
    given: dict[str, list[str]] = {}
    for key, value in pairs:
        name = key.removesuffix("[]")  # `messageIds[]=a` is `messageIds=a`
        _check_names(known, [name], "query")
        given.setdefault(name, []).append(value)
    gathered: dict[str, Any] = {}
    for name, values in given.items():
        metadata = _list_metadata(known[name][1])
        if metadata is None:
            if len(values) > 1:
                raise BadRequestError(f"invalid request: {name} given more than once")
            gathered[name] = values[0]
            continue
        if any(isinstance(m, CommaSeparated) for m in metadata):
            values[:] = [part for value in values for part in value.split(",")]
        if len(values) > MAX_FILTER_VALUES:  # counted before empty values are dropped: they too were sent
            raise BadRequestError(f"invalid request: {name} takes at most {MAX_FILTER_VALUES} values")
        gathered[name] = [value for value in values if value.strip()]
    return gathered


def parse(
    model: type[_RequestT], query: Sequence[tuple[str, str]] = (), body: Mapping[str, Any] | None = None
) -> _RequestT:
    """Validate the query (name/value pairs as sent, a name repeated for several values) and the JSON body into
    `model`, each on its own so that neither hides a mistake in the other; a name in both is a 400. Query values are
    strings read as the field's type (`count=5`); a JSON body is read strictly, as JSON types (`"paused": 0` is not
    a boolean). Any problem is a 400 naming the field."""
    known = _fields_by_alias(model)
    values: dict[str, Any] = {}
    try:
        if query:
            given = model.model_validate(_gathered(known, query))
            values |= {name: getattr(given, name) for name in given.model_fields_set}
        if body is not None:
            if model.model_config.get("extra") == "forbid":
                _check_names(known, body.keys(), "body")
            from_body = model.model_validate_json(json.dumps(body), strict=True)
            in_body = from_body.model_fields_set
            both = sorted(alias for alias, (name, _) in known.items() if name in values and name in in_body)
            if both:
                raise BadRequestError(f"invalid request: {', '.join(both)} given in both the query and the body")
            values |= {name: getattr(from_body, name) for name in from_body.model_fields_set}
        return model.model_validate(values)
    except ValidationError as exc:
        raise BadRequestError(f"invalid request: {describe(exc)}") from exc


def describe(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}".removeprefix(": ") for e in exc.errors())


class EventQuery(_DestinationFilters):
    """GET /v2/events and /v2/logs query."""

    cursor: str | None = None
    count: int | None = Field(None, ge=1)
    order: Order = Order.LATEST_FIRST
    message_id: Names | None = Field(None, alias="messageId")
    message_ids: Ids | None = Field(None, alias="messageIds", description="an empty list selects nothing")
    state: Names | None = Field(None, description="IN_PROGRESS is ACTIVE, RETRY or ERROR")

    @field_validator("state")
    @classmethod
    def _state(cls, values: list[str] | None) -> list[str] | None:
        for value in values or ():
            if value.upper() not in EVENT_STATE_FILTERS:
                raise ValueError(f"must be one of {', '.join(sorted(EVENT_STATE_FILTERS))}")
        return [state for v in values for state in EVENT_STATE_FILTERS[v.upper()]] if values is not None else None

    def page_size(self, default: int, maximum: int) -> int:
        if self.count is not None and self.count > maximum:
            raise BadRequestError(f"invalid request: count must be at most {maximum}")
        return self.count or default

    def to_filter(self) -> RecordFilter:
        ids = None
        if self.message_ids is not None or self.message_id is not None:
            ids = _tuple([*(self.message_ids or ()), *(self.message_id or ())])
        return replace(super().to_filter(), message_ids=ids)


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


MAX_BATCH_ENTRIES = 100  # each is stored in a transaction of its own, within the API's timeout


class BatchRequest(RootModel[Annotated[list[BatchEntry], Field(max_length=MAX_BATCH_ENTRIES)]]):
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


class PinQuery(_Strict):
    parallelism: int | None = Field(None, ge=1, le=MAX_FLOW_LIMIT)
    rate: int | None = Field(None, ge=1, le=MAX_FLOW_LIMIT)
    period: int | None = Field(None, ge=1, le=MAX_PERIOD_S, description="seconds")


class UnpinQuery(_Strict):
    parallelism: bool = False
    rate: bool = False
