"""Reading the event log."""

from __future__ import annotations

from functions.events.repository import EventFilter, EventPage, EventRepository
from functions.shared.clock import Clock, now_ms


class EventService:
    def __init__(self, events: EventRepository, clock: Clock = now_ms) -> None:
        self.events = events
        self.clock = clock

    def list(self, where: EventFilter, *, count: int, cursor: str | None, newest_first: bool) -> EventPage:
        return self.events.list(where, count=count, now_ms=self.clock(), cursor=cursor, newest_first=newest_first)
