"""The shape of one API route (`functions/api/routes/table.py` lists them) and the forms its path takes.

A route's path is stored once, in API Gateway's syntax (`/v2/messages/{messageId}`, a greedy tail as
`/v2/publish/{destination+}`); the OpenAPI path, the resolver's rule and the handler's keyword names are derived
from it. Nothing here reads the settings or builds a client: the CDK app imports the table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from functions.shared.config import Settings

JsonSchema = dict[str, Any]
SettingsSchema = JsonSchema | Callable[["Settings"], JsonSchema]  # a schema, or one made from the limits in force
_PLACEHOLDER = re.compile(r"\{(\w+)(\+?)\}")


class Caller(Enum):
    """Who may call a route: anyone, a read-only token (or a full one), or a full-access token only."""

    PUBLIC = "public"
    READ = "read"
    FULL = "full"


@dataclass(frozen=True)
class Param:
    name: str
    where: Literal["path", "query", "header"]
    schema: JsonSchema
    description: str = ""
    required: bool = False

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name, "in": self.where, "schema": self.schema}
        if self.where == "path" or self.required:
            doc["required"] = True
        if self.description:
            doc["description"] = self.description
        if self.where == "query" and self.schema.get("type") == "array":
            doc |= {"style": "form", "explode": True}  # repeated (`?dlqIds=a&dlqIds=b`); commas work too
        return doc


ParamSource = Param | Callable[["Settings"], tuple[Param, ...]]


@dataclass(frozen=True)
class Route:
    method: str  # upper case
    path: str  # API Gateway's form: `{name}` one segment, `{name+}` the rest of the path
    handler: str  # the route function's name, in the feature's module (functions/api/routes/<tag module>)
    caller: Caller
    summary: str
    tag: str
    ok: tuple[int, JsonSchema | None] = (200, None)  # None: an empty body
    params: tuple[ParamSource, ...] = ()
    body: dict[str, SettingsSchema] | None = None  # media type -> schema
    body_required: bool = False
    errors: tuple[int, ...] = (401, 429)
    also_ok: tuple[int, ...] = ()  # further success statuses with the same body (202 for a duplicate publish)
    description: str = ""
    documented: bool = True  # in the OpenAPI document
    rule: str = ""  # the resolver's rule, when it is not the one derived from the path (see `resolver_rule`)
    also_head: bool = False  # answers HEAD as GET (the console's page and files)

    @property
    def openapi_path(self) -> str:
        return _PLACEHOLDER.sub(r"{\1}", self.path)

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods the resolver serves it for."""
        return (self.method, "HEAD") if self.also_head else (self.method,)

    @property
    def is_greedy(self) -> bool:
        return "+}" in self.path

    def parameters(self, settings: Settings) -> tuple[Param, ...]:
        return tuple(
            p for source in self.params for p in ((source,) if isinstance(source, Param) else source(settings))
        )

    def request_body(self, settings: Settings) -> dict[str, JsonSchema] | None:
        if self.body is None:
            return None
        return {media: schema if isinstance(schema, dict) else schema(settings) for media, schema in self.body.items()}


def snake(name: str) -> str:
    """`messageId` -> `message_id`: the handler's keyword for a path placeholder."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def resolver_rule(route: Route, routes: Sequence[Route]) -> str:
    """The resolver's rule for `route`: `{name}` becomes `<snake_name>` (one segment, passed to the handler); a path
    with a greedy placeholder becomes its literal head then `.+` (the handler reads the raw path), kept off the
    paths of the other routes of its method that share the head (`POST /v2/schedules/{scheduleId}/pause` against
    `POST /v2/schedules/{destination+}`). A route's own `rule` wins."""
    if route.rule:
        return route.rule
    if not route.is_greedy:
        return _PLACEHOLDER.sub(lambda m: f"<{snake(m[1])}>", route.path)
    head = route.path[: route.path.index("{")]
    siblings = [
        _segment_pattern(r.path[len(head) :])
        for r in routes
        if r is not route and r.method == route.method and r.path.startswith(head) and not r.is_greedy
    ]
    lookahead = f"(?!(?:{'|'.join(siblings)})$)" if siblings else ""
    return f"{head}{lookahead}.+"


def rule_pattern(rule: str) -> re.Pattern[str]:
    """A resolver rule as a regular expression that matches at least the paths the resolver matches with it (a
    `<name>` placeholder as any one segment)."""
    return re.compile("^" + re.sub(r"<\w+>", "[^/]+", rule) + "$")


def _segment_pattern(tail: str) -> str:
    parts = _PLACEHOLDER.split(tail)  # literal, name, plus, literal, ...
    pattern = ""
    for index, part in enumerate(parts):
        if index % 3 == 0:
            pattern += re.escape(part)
        elif index % 3 == 1:
            pattern += "[^/]+"
    return pattern
