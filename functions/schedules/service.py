"""Cron schedules: create (or overwrite), list, get, delete, pause, resume, and fire (from the worker)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from functions.core.lifecycle import MessageState
from functions.core.models import MessageRequest
from functions.messages.publish import INTERNAL_DEDUP_PREFIX
from functions.messages.service import MessageService, Prepared
from functions.schedules.cron import parse_cron, read_cron
from functions.schedules.models import Schedule
from functions.schedules.repository import ScheduleStorePort
from functions.schedules.triggers import TriggersPort
from functions.shared.clock import Clock, now_ms
from functions.shared.errors import BadRequestError, NotFoundError
from functions.shared.ids import uuid7
from functions.shared.observability import logger
from functions.stores.protocols import MessageStorePort
from functions.topics.models import validate_name

# Headers that configure the schedule itself rather than each message it publishes.
_SCHEDULE_HEADERS = ("upstash-cron", "upstash-schedule-id", "upstash-queue-name")
_STATES = {
    MessageState.DELIVERED: "SUCCESS",
    MessageState.FAILED: "FAIL",
    MessageState.CANCELED: "FAIL",
}


def is_publish_header(name: str) -> bool:
    """The headers a publish reads (`Upstash-*` and `Content-Type`): a schedule keeps those and no other (never the
    request's `Authorization`)."""
    return name.startswith("upstash-") or name == "content-type"


@dataclass(frozen=True)
class ScheduleInfo:
    schedule: Schedule
    prepared: Prepared | None  # a message as the schedule would publish it now (None when that fails)
    next_time_ms: int | None
    last_states: dict[str, str]


class ScheduleService:
    def __init__(
        self,
        schedules: ScheduleStorePort,
        triggers: TriggersPort,
        publisher: MessageService,
        messages: MessageStorePort,
        ensure_queue: Callable[[str], object],
        clock: Clock = now_ms,
    ) -> None:
        self.schedules = schedules
        self.triggers = triggers
        self.publisher = publisher
        self.messages = messages
        self.ensure_queue = ensure_queue
        self.clock = clock

    def create(self, destination: str, headers: Mapping[str, str], body: bytes, caller_ip: str | None) -> str:
        """Create a schedule, or overwrite the one named by `Upstash-Schedule-Id`; its messages are validated now."""
        if "upstash-cron" not in headers:
            raise BadRequestError("missing Upstash-Cron header")
        cron = parse_cron(headers["upstash-cron"])
        schedule_id = validate_name(headers.get("upstash-schedule-id") or f"scd_{uuid7().replace('-', '')}", "schedule")
        queue_name = headers.get("upstash-queue-name")
        if queue_name:
            validate_name(queue_name, "queue")
        publish_headers = {k: v for k, v in headers.items() if is_publish_header(k) and k not in _SCHEDULE_HEADERS}
        self.publisher.prepare(destination, publish_headers, body, caller_ip)  # 400 now, not at every tick
        now = self.clock()
        existing = self.schedules.get(schedule_id)
        schedule = Schedule(
            schedule_id=schedule_id,
            destination=destination,
            cron=cron.source,
            headers=publish_headers,
            body=body,
            queue_name=queue_name,
            caller_ip=caller_ip,
            paused=existing.paused if existing else False,
            created_at_ms=existing.created_at_ms if existing else now,
            updated_at_ms=now,
            last_schedule_time_ms=max(now, existing.last_schedule_time_ms or 0) if existing else now,
        )
        self.schedules.put(schedule)
        self.triggers.put(schedule_id, cron)
        return schedule_id

    def get(self, schedule_id: str) -> ScheduleInfo:
        schedule = self.schedules.get(schedule_id)
        if schedule is None:
            raise NotFoundError(f"schedule {schedule_id} not found")
        return self._info(schedule)

    def list_all(self) -> list[ScheduleInfo]:
        return [self._info(s) for s in self.schedules.list()]

    def delete(self, schedule_id: str) -> None:
        self.triggers.delete(schedule_id)
        self.schedules.delete(schedule_id)

    def set_paused(self, schedule_id: str, paused: bool) -> None:
        """Pause or resume (idempotent). A paused schedule's trigger still fires; the worker skips it."""
        if not self.schedules.set_paused(schedule_id, paused, self.clock()):
            raise NotFoundError(f"schedule {schedule_id} not found")

    def fire(self, schedule_id: str, scheduled_ms: int) -> list[str]:
        """Publish the schedule's message for the latest tick at or before `scheduled_ms`, once per tick.

        The message's dedup id is derived from the tick, so a firing retried after a crash publishes nothing new.
        """
        schedule = self.schedules.get(schedule_id)
        if schedule is None or schedule.paused:
            return []
        cron = read_cron(schedule.cron)
        tick = cron.previous_tick_ms(scheduled_ms)
        if tick is None or (schedule.last_schedule_time_ms is not None and tick <= schedule.last_schedule_time_ms):
            return []  # not a tick (an every-minute trigger of a cron Scheduler cannot express), or fired already
        headers = {k: v for k, v in schedule.headers.items() if k != "upstash-deduplication-id"}
        dedup_id = f"{INTERNAL_DEDUP_PREFIX}schedule/{schedule_id}/{tick}"
        ids: list[str] = []
        error = None
        try:
            prepared = self.publisher.prepare(schedule.destination, headers, schedule.body, schedule.caller_ip)
            prepared = Prepared(
                [
                    r.model_copy(update={"schedule_id": schedule_id, "dedup_id": _tick_dedup_id(dedup_id, r)})
                    for r in prepared.requests
                ],
                prepared.to_group,
            )
            if schedule.queue_name:
                self.ensure_queue(schedule.queue_name)
            outcome = self.publisher.store(prepared, queue_name=schedule.queue_name)
            ids = [p.message_id for p in outcome.published]
        except (BadRequestError, NotFoundError) as exc:  # e.g. its URL group was deleted since
            error = exc.message
        self.schedules.record_fire(schedule_id, tick, ids, error)
        logger.info("schedule fired", schedule_id=schedule_id, tick=tick, messages=ids, error=error)
        return ids

    def _info(self, schedule: Schedule) -> ScheduleInfo:
        try:
            prepared = self.publisher.prepare(schedule.destination, schedule.headers, schedule.body, None)
        except (BadRequestError, NotFoundError):
            prepared = None
        now = self.clock()
        states = {}
        for message_id in schedule.last_message_ids:
            status = self.messages.get_status(message_id)
            states[message_id] = _STATES.get(status.state, "IN_PROGRESS") if status else "FAIL"
        next_time = None if schedule.paused else _next_tick(schedule, now)
        return ScheduleInfo(schedule, prepared, next_time, states)


def _next_tick(schedule: Schedule, now: int) -> int | None:
    """When the schedule fires next; None when it cannot be told (one stored schedule never fails a listing)."""
    try:
        return read_cron(schedule.cron).next_tick_ms(now)
    except BadRequestError:
        logger.warning("stored schedule has an unreadable cron", schedule_id=schedule.schedule_id)
        return None


def _tick_dedup_id(dedup_id: str, request: MessageRequest) -> str:
    """The tick's dedup id, per endpoint when the schedule publishes to a URL group (as a publish does)."""
    if request.topic_name:
        return f"{dedup_id}/{request.endpoint_name or request.url}"
    return dedup_id
