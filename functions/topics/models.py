"""URL groups (QStash's "topics"): a name for a set of endpoints that a publish fans out to."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from functions.shared.errors import BadRequestError

_NAME = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def validate_name(name: str, kind: str = "URL group") -> str:
    """QStash's rule for queue, schedule and URL group names: letters, digits, `-`, `_` and `.` only."""
    if not _NAME.match(name):
        raise BadRequestError(f"invalid {kind} name {name!r}: use letters, digits, '-', '_' and '.' (at most 128)")
    return name


class Endpoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: str
    name: str | None = None


class Topic(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    endpoints: tuple[Endpoint, ...] = Field(default_factory=tuple)
    created_at_ms: int
    updated_at_ms: int
    version: int = 0

    def upserted(self, endpoints: list[Endpoint], now_ms: int) -> Topic:
        """Add endpoints; one whose name (or else url) matches an existing endpoint replaces it."""
        current = list(self.endpoints)
        for new in endpoints:
            match = next(
                (i for i, e in enumerate(current) if (new.name and e.name == new.name) or e.url == new.url), None
            )
            if match is None:
                current.append(new)
            else:
                current[match] = Endpoint(url=new.url, name=new.name or current[match].name)
        return self.model_copy(update={"endpoints": tuple(current), "updated_at_ms": now_ms})

    def without(self, endpoints: list[Endpoint], now_ms: int) -> Topic:
        """Remove the endpoints named by url or by name."""
        urls = {e.url for e in endpoints if e.url}
        names = {e.name for e in endpoints if e.name}
        kept = tuple(e for e in self.endpoints if e.url not in urls and (e.name is None or e.name not in names))
        return self.model_copy(update={"endpoints": kept, "updated_at_ms": now_ms})
