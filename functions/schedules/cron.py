"""QStash cron expressions (5 fields, optional `CRON_TZ=<zone> ` prefix) and their EventBridge Scheduler form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from functions.shared.errors import BadRequestError

_TZ_PREFIX = re.compile(r"^CRON_TZ=(\S+)\s+(.*)$")
_DOW_NUMBERS = re.compile(r"^[0-7](?:-[0-7])?(?:,[0-7](?:-[0-7])?)*$")


@dataclass(frozen=True)
class Cron:
    expression: str  # the 5 fields
    timezone: str  # IANA zone, UTC by default

    @property
    def source(self) -> str:
        return self.expression if self.timezone == "UTC" else f"CRON_TZ={self.timezone} {self.expression}"

    def previous_tick_ms(self, at_ms: int) -> int | None:
        """The latest tick at or before `at_ms`; None when there is none within a year."""
        zone = ZoneInfo(self.timezone)
        start = datetime.fromtimestamp(at_ms / 1000, tz=zone)
        if croniter.match(self.expression, start.replace(second=0, microsecond=0)) and start.second == 0:
            return int(start.timestamp() * 1000)
        try:
            tick = croniter(self.expression, start, max_years_between_matches=1).get_prev(datetime)
        except CroniterError:
            return None
        return int(tick.timestamp() * 1000)

    def next_tick_ms(self, after_ms: int) -> int | None:
        """The first tick after `after_ms`; None when there is none within a year (parse_cron refuses such a cron,
        but a stored one is read whatever it holds)."""
        zone = ZoneInfo(self.timezone)
        start = datetime.fromtimestamp(after_ms / 1000, tz=zone)
        try:
            tick = croniter(self.expression, start, max_years_between_matches=1).get_next(datetime)
        except CroniterError:
            return None
        return int(tick.timestamp() * 1000)

    def scheduler_expression(self) -> tuple[str, bool]:
        """EventBridge Scheduler's `cron(min hour dom month dow year)` for this cron, and whether it is exact.

        Scheduler needs `?` in day-of-month or day-of-week and numbers days of the week 1-7 from Sunday. A cron it
        cannot express fires every minute instead, and the worker keeps only the minutes that are ticks.
        """
        minute, hour, dom, month, dow = self.expression.split()
        if dom != "*" and dow != "*":
            return "rate(1 minute)", False
        if dow == "*":
            dom_out, dow_out = dom, "?"
        elif _DOW_NUMBERS.match(dow):
            dom_out = "?"
            dow_out = re.sub(r"[0-7]", lambda m: str(int(m.group()) % 7 + 1), dow)
        elif re.fullmatch(r"[A-Za-z,-]+", dow):
            dom_out, dow_out = "?", dow.upper()
        else:
            return "rate(1 minute)", False

        def steps(field: str, first: str) -> str:
            return field.replace("*/", f"{first}/")

        fields = [steps(minute, "0"), steps(hour, "0"), steps(dom_out, "1"), steps(month, "1"), dow_out, "*"]
        if any(int(a) > int(b) for a, b in re.findall(r"(\d)-(\d)", dow_out)):  # a range Sunday's renumbering wrapped
            return "rate(1 minute)", False
        return f"cron({' '.join(fields)})", True


def parse_cron(text: str) -> Cron:
    """Validate a QStash cron (`*/5 * * * *`, `CRON_TZ=Europe/Istanbul 0 9 * * 1-5`) that fires within a year;
    400 when it is not one."""
    cron = read_cron(text)
    if cron.next_tick_ms(int(datetime.now(UTC).timestamp() * 1000)) is None:
        raise BadRequestError(f"invalid Upstash-Cron {text!r}: it does not fire within a year")
    return cron


def read_cron(text: str) -> Cron:
    """A cron's syntax only (a stored schedule's cron is read with this: it was checked when it was stored)."""
    raw = text.strip()
    timezone = "UTC"
    if match := _TZ_PREFIX.match(raw):
        timezone, raw = match.group(1), match.group(2).strip()
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise BadRequestError(f"invalid Upstash-Cron time zone {timezone!r}") from exc
    if len(raw.split()) != 5 or "?" in raw or not croniter.is_valid(raw):
        raise BadRequestError(f"invalid Upstash-Cron {text!r}: expected 5 fields, like '*/5 * * * *'")
    return Cron(" ".join(raw.split()), timezone)


def utc_iso(unix_ms: int) -> str:
    return datetime.fromtimestamp(unix_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
