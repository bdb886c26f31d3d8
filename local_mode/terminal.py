"""Local mode's terminal: one readable line per event that matters instead of the handlers' JSON log lines.

`install(logger)` puts a formatter and a filter on the Powertools logger's handler. INFO records with a line of
their own (a publish, an attempt's outcome, a cancel, a schedule fired) are printed as that line; other INFO and
DEBUG records are dropped (kept, as generic lines, when the logger is at DEBUG); warnings and errors are always
printed, one line each, with their message and fields. The deployed functions never install it: their logs stay
Powertools' JSON, as does local mode's with `--log-format json`.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

LOG_FORMATS = ("pretty", "json")
ENV_VAR = "POSTBOX_LOG_FORMAT"
MAX_VALUE_CHARS = 160
KIND_WIDTH = 10

RESET, BOLD, DIM = "\033[0m", "\033[1m", "\033[2m"
RED, GREEN, YELLOW, CYAN = "\033[31m", "\033[32m", "\033[33m", "\033[36m"

# The attributes every LogRecord has: whatever else a record holds came as `extra=` or as keyword arguments
# (Powertools' `logger.info(msg, key=value)` passes them to the standard library as `extra`).
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def log_format(flag: str | None, environ: Mapping[str, str], default: str) -> str:
    """The flag, else POSTBOX_LOG_FORMAT, else `default`. ValueError for a value that is no format."""
    value = flag or environ.get(ENV_VAR, "").strip().lower() or default
    if value not in LOG_FORMATS:
        raise ValueError(f"{ENV_VAR} is pretty or json, not {value!r}")
    return value


def colour_wanted(stream: TextIO | None, environ: Mapping[str, str]) -> bool:
    """Colour on a terminal; never with NO_COLOR set (https://no-color.org); always with FORCE_COLOR set (not 0)."""
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR", "").strip().lower() not in ("", "0", "false"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's own fields (its `extra=` and keyword arguments), those set to None left out."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and v is not None}


class _Paint:
    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def __call__(self, text: object, *codes: str) -> str:
        return f"{''.join(codes)}{text}{RESET}" if self.colour and codes else str(text)


def _value(value: object) -> str:
    text = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    text = " ".join(text.split()) if "\n" in text or "\r" in text else text
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _wait(ms: int) -> str:
    """A wait as people say it: 850 ms, 12.5 s, 3 min 20 s, 2 h 5 min."""
    if ms < 1000:
        return f"{max(ms, 0)} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _answer(f: Mapping[str, Any]) -> str:
    """What the destination answered: its status, else the attempt's error."""
    return str(f["status"]) if "status" in f else _value(f.get("error", "no answer"))


def _attempt(f: Mapping[str, Any]) -> str:
    attempt = f.get("attempt", 0)
    return f" (attempt {attempt})" if isinstance(attempt, int) and attempt > 0 else ""


# --- one renderer per log message: (kind, its colour, the rest of the line) -------------------------------

Line = tuple[str, str, str]
Renderer = Callable[[Mapping[str, Any], logging.LogRecord, _Paint], Line]


def _published(f: Mapping[str, Any], _: logging.LogRecord, p: _Paint) -> Line:
    return "published", CYAN, f"{p(f.get('message_id'), DIM)} -> {f.get('url')}"


def _duplicate(f: Mapping[str, Any], _: logging.LogRecord, p: _Paint) -> Line:
    return "duplicate", DIM, f"{p(f.get('message_id'), DIM)} (deduplication id {f.get('dedup_id')}): not sent again"


def _dispatched(f: Mapping[str, Any], _: logging.LogRecord, p: _Paint) -> Line:
    return "dispatched", CYAN, f"{p(f.get('message_id'), DIM)} from queue {f.get('queue')}"


def _delivered(f: Mapping[str, Any], _: logging.LogRecord, p: _Paint) -> Line:
    rest = f"{p(f.get('message_id'), DIM)} {f.get('url')} {_answer(f)} in {f.get('latency_ms', 0)} ms{_attempt(f)}"
    return "delivered", GREEN, rest


def _retry(f: Mapping[str, Any], record: logging.LogRecord, p: _Paint) -> Line:
    attempt = f.get("attempt", 0)
    rest = f"{p(f.get('message_id'), DIM)} {f.get('url')} {_answer(f)}"
    next_at = f.get("next_delivery_at")
    if isinstance(next_at, int):
        rest += f" next in {_wait(next_at - int(record.created * 1000))}"
    return "retry", YELLOW, f"{rest} (attempt {attempt})"


def _failed(f: Mapping[str, Any], _: logging.LogRecord, p: _Paint) -> Line:
    rest = f"{p(f.get('message_id'), DIM)} {f.get('url')} {_answer(f)} -> DLQ {p(f.get('dlq_id'), DIM)}{_attempt(f)}"
    return "failed", RED, rest


def _canceled(f: Mapping[str, Any], _: logging.LogRecord, p: _Paint) -> Line:
    """The worker's outcome: the message's cancel was requested during this attempt, which failed."""
    return "cancelled", YELLOW, f"{p(f.get('message_id'), DIM)} {f.get('url')} {_answer(f)}{_attempt(f)}"


def _cancelled(f: Mapping[str, Any], _: logging.LogRecord, p: _Paint) -> Line:
    """A cancel through the API: at once, or (`requested`) once the attempt in flight has ended."""
    message_id = p(f.get("message_id"), DIM)
    if f.get("outcome") == "requested":
        return "cancelling", YELLOW, f"{message_id} (its attempt in flight is the last)"
    return "cancelled", YELLOW, str(message_id)


def _schedule(f: Mapping[str, Any], _: logging.LogRecord, p: _Paint) -> Line:
    schedule_id = p(f.get("schedule_id"), DIM)
    if "error" in f:
        return "schedule", RED, f"{schedule_id} fired, nothing published: {_value(f['error'])}"
    ids = f.get("messages") or []
    published = " ".join(p(i, DIM) for i in ids) if ids else "nothing (published for this tick already)"
    return "schedule", CYAN, f"{schedule_id} fired -> {published}"


RENDERERS: dict[str, Renderer] = {
    "message published": _published,
    "duplicate publish": _duplicate,
    "dispatched from queue": _dispatched,
    "delivered": _delivered,
    "retry_scheduled": _retry,
    "failed": _failed,
    "canceled": _canceled,
    "message cancelled": _cancelled,
    "schedule fired": _schedule,
}


class TerminalFilter(logging.Filter):
    """Lets warnings and errors through, and the INFO records with a line of their own (all, when `verbose`)."""

    def __init__(self, verbose: bool = False) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        return self.verbose or record.levelno >= logging.WARNING or str(record.msg) in RENDERERS


class TerminalFormatter(LambdaPowertoolsFormatter):
    """One line a record: `HH:MM:SS.mmm kind       details`. A Powertools formatter, so that the Logger's key
    methods (`append_keys`, `clear_state`, ...) keep working; the keys they keep are not printed."""

    def __init__(self, colour: bool = False) -> None:
        super().__init__()
        self.paint = _Paint(colour)

    def format(self, record: logging.LogRecord) -> str:
        p = self.paint
        found = fields(record)
        renderer = RENDERERS.get(str(record.msg)) if record.levelno < logging.WARNING else None
        if renderer is not None:
            kind, colour, rest = renderer(found, record, p)
        else:
            kind, colour, rest = self._generic(record, found)
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created)) + f".{int(record.msecs):03d}"
        return f"{p(stamp, DIM)} {p(kind.ljust(KIND_WIDTH), colour)} {rest}"

    def _generic(self, record: logging.LogRecord, found: Mapping[str, Any]) -> Line:
        """A warning, an error, or (verbose) any other record: its message and fields, and its exception."""
        p = self.paint
        parts = [p(record.getMessage(), BOLD) if record.levelno >= logging.WARNING else record.getMessage()]
        parts += [f"{p(k + '=', DIM)}{_quoted(_value(v))}" for k, v in found.items()]
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            parts.append(f"{p('exception=', DIM)}{_quoted(_value(f'{type(exc).__name__}: {exc}'))}")
        if record.levelno >= logging.ERROR:
            colour = RED
        elif record.levelno >= logging.WARNING:
            colour = YELLOW
        else:
            colour = DIM
        return record.levelname.lower(), colour, " ".join(parts)


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False) if not text or any(c.isspace() or c == '"' for c in text) else text


def install(logger: Logger, environ: Mapping[str, str] | None = None) -> Callable[[], None]:
    """Print the logger's records as terminal lines; returns what puts its JSON formatter back."""
    handler = logger.registered_handler
    original = handler.formatter
    stream = getattr(handler, "stream", None)
    formatter = TerminalFormatter(colour=colour_wanted(stream, os.environ if environ is None else environ))
    terminal_filter = TerminalFilter(verbose=logging.getLogger(logger.name).getEffectiveLevel() <= logging.DEBUG)
    handler.setFormatter(formatter)
    handler.addFilter(terminal_filter)

    def uninstall() -> None:
        handler.removeFilter(terminal_filter)
        handler.setFormatter(original)

    return uninstall
