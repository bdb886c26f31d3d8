"""Reading the event log."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from functions.core.events import BODY_STATES
from functions.core.filters import RecordFilter
from functions.events.repository import EventPage, EventStorePort
from functions.shared.clock import Clock, now_ms

BodyLookup = Callable[[Iterable[str], int], Mapping[str, bytes]]
"""Message id -> body (those with a body to show), for ids read at a time in unix seconds."""


class EventService:
    def __init__(self, events: EventStorePort, bodies: BodyLookup | None = None, clock: Clock = now_ms) -> None:
        self.events = events
        self.bodies = bodies
        self.clock = clock

    def list(self, where: RecordFilter, *, count: int, cursor: str | None, newest_first: bool) -> EventPage:
        now = self.clock()
        page = self.events.list(where, count=count, now_ms=now, cursor=cursor, newest_first=newest_first)
        wants = [e.body is None and e.state in BODY_STATES for e in page.events]
        if not any(wants) or self.bodies is None:
            return page
        ids = {e.message_id for e, wanted in zip(page.events, wants, strict=True) if wanted}
        bodies = self.bodies(ids, now)  # one batch read for the page, not one per event
        events = [
            e.model_copy(update={"body": bodies[e.message_id]}) if wanted and e.message_id in bodies else e
            for e, wanted in zip(page.events, wants, strict=True)
        ]
        return EventPage(events, page.cursor)
