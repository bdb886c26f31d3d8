"""A cron schedule: what it publishes (destination, headers, body) and when (its cron)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Schedule(BaseModel):
    model_config = ConfigDict(frozen=True)

    schedule_id: str
    destination: str  # a URL or a URL group name
    cron: str  # the QStash form, `CRON_TZ=` prefix included
    headers: dict[str, str] = Field(default_factory=dict, description="the publish headers, lower case")
    body: bytes = b""
    queue_name: str | None = None
    caller_ip: str | None = None
    paused: bool = False
    created_at_ms: int
    updated_at_ms: int
    last_schedule_time_ms: int | None = None
    last_message_ids: tuple[str, ...] = ()
    error: str | None = None
