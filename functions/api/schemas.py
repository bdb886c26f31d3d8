"""JSON schemas and parameters the route table (functions/api/routes/table.py) describes its routes with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from functions.api.requests import EVENT_STATE_FILTERS, MAX_ID_LENGTH, QueueUpsertRequest
from functions.api.route_spec import JsonSchema, Param
from functions.core.durations import MAX_DELAY_S
from functions.messages.publish import METHODS

if TYPE_CHECKING:
    from functions.shared.config import Settings

REF = "#/components/schemas/{model}"

# QStash's rule for queue, schedule and URL group names (functions.topics.models.validate_name).
NAME = {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$"}
ID = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}
DURATION = {"type": "string", "pattern": "^[0-9]+([smhd]([0-9]+[smhd])*)?$", "examples": ["10s", "1h30m", "2d"]}
URL = {
    "type": "string",
    "pattern": "^https?://[A-Za-z0-9.-]+(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~/-]*)?$",
    "examples": ["http://127.0.0.1:9000/hook"],
}
EVENT_STATES = {"type": "array", "items": {"type": "string", "enum": sorted(EVENT_STATE_FILTERS)}}


def ref(model: type[BaseModel]) -> JsonSchema:
    return {"$ref": REF.format(model=model.__name__)}


def array(items: JsonSchema) -> JsonSchema:
    return {"type": "array", "items": items}


def path(name: str, description: str, schema: JsonSchema = ID) -> Param:
    return Param(name, "path", schema, description)


def header(name: str, schema: JsonSchema, description: str = "", required: bool = False) -> Param:
    return Param(name, "header", schema, description, required)


def query_params(model: type[BaseModel], **overrides: JsonSchema) -> tuple[Param, ...]:
    """One query parameter per field of a request model, as its alias; `null` is not a query value."""
    schema = model.model_json_schema(by_alias=True, ref_template=REF)
    return tuple(
        Param(name, "query", overrides.get(name) or _query_schema(prop), prop.get("description", ""))
        for name, prop in schema["properties"].items()
    )


def _query_schema(prop: JsonSchema) -> JsonSchema:
    options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
    chosen: JsonSchema = dict(options[0]) if len(options) == 1 else {"anyOf": options}
    for key in ("title", "default", "description"):
        chosen.pop(key, None)
    if chosen.get("type") == "array":  # `?ids=a,,b` and `?ids=`: the query form ignores empty values
        items: JsonSchema = chosen["items"]
        chosen["items"] = {k: v for k, v in items.items() if k != "minLength"}
    return chosen


def publish_headers(settings: Settings) -> tuple[Param, ...]:
    """The headers every publish takes (publish, enqueue, a cron schedule), with the limits in force."""
    retries = {"type": "integer", "minimum": 0, "maximum": settings.max_retries}
    callback = "Upstash-Callback-{Method,Retries,Timeout,Retry-Delay} and Upstash-Callback-Forward-<Name> configure it"
    return (
        header("Upstash-Method", {"type": "string", "enum": sorted(METHODS)}, "method toward the destination"),
        header("Upstash-Delay", DURATION, f"deliver after this long (at most {MAX_DELAY_S // 86400}d)"),
        header(
            "Upstash-Not-Before",
            {"type": "integer", "minimum": 0},
            f"deliver at (unix seconds; at most {MAX_DELAY_S // 86400} days ahead); wins over Upstash-Delay",
        ),
        header("Upstash-Retries", retries, f"retries after the first attempt (default {settings.default_retries})"),
        header(
            "Upstash-Retry-Delay",
            {"type": "string", "minLength": 1, "examples": ["pow(2, retried) * 1000"]},
            "backoff in ms as an expression of `retried`",
        ),
        header("Upstash-Timeout", DURATION, "per-attempt timeout"),
        header("Upstash-Callback", URL, f"called after every attempt; {callback}"),
        header("Upstash-Failure-Callback", URL, "called once the retries are spent (Upstash-Failure-Callback-...)"),
        header("Upstash-Deduplication-Id", {"type": "string", "minLength": 1, "maxLength": 512}),
        header("Upstash-Content-Based-Deduplication", {"type": "string", "enum": ["true", "false"]}),
        header("Upstash-Label", {"type": "string"}),
        header("Upstash-Flow-Control-Key", {"type": "string", "minLength": 1, "maxLength": 256}),
        header(
            "Upstash-Flow-Control-Value",
            {"type": "string", "examples": ["parallelism=3, rate=4, period=2s"]},
            "needs Upstash-Flow-Control-Key",
        ),
    )


def queue_upsert_schema(settings: Settings) -> JsonSchema:
    schema = QueueUpsertRequest.model_json_schema(by_alias=True, ref_template=REF)
    parallelism = {"type": "integer", "minimum": 1, "maximum": settings.max_queue_parallelism}
    schema["properties"]["parallelism"] = {"anyOf": [parallelism, {"type": "null"}]}
    schema["properties"]["queueName"] = NAME
    return schema


PUBLISH_BODY: dict[str, JsonSchema] = {
    "application/octet-stream": {"type": "string", "format": "binary"},
    "text/plain": {"type": "string"},
    "application/json": {},
}
PUBLISH_DESCRIPTION = (
    "The request body is stored and sent as it is. Headers named `Upstash-Forward-<Name>` are sent to the "
    "destination as `<Name>`; the destination's own query string is kept."
)
DESTINATION = path(
    "destination",
    "a full http(s) URL (as it is, or percent-encoded), or the name of a URL group",
    {"anyOf": [URL, NAME]},
)
SCHEDULE_CREATED = {
    "type": "object",
    "properties": {"scheduleId": {"type": "string"}},
    "required": ["scheduleId"],
}
OPENAPI_PATH = "/openapi.json"
BODY_ERRORS = (400, 401, 413, 429, 503)  # of a route that takes a body
NOT_FOUND = (400, 401, 404, 429)  # of a route that names one thing
