"""Local mode's terminal lines (local_mode/terminal.py): one line per event that matters, nothing for the
other INFO records, warnings and errors always; colour only when wanted; the JSON lines back when uninstalled."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from typer.testing import CliRunner

from local_mode import terminal

ROOT = Path(__file__).resolve().parents[2]
STAMP = r"\d\d:\d\d:\d\d\.\d{3}"
ID = "01a23c45-8d8e-716f-8293-d5aec4757c4a"
DLQ_ID = "01a23c45-926e-71e4-9673-9caf01bc818f"
URL = "http://127.0.0.1:9000/hook"


class Terminal:
    """A Powertools Logger of its own, writing to a buffer, with the terminal lines installed."""

    def __init__(self, logger: Logger, out: io.StringIO) -> None:
        self.logger = logger
        self.out = out
        self.uninstall = terminal.install(logger, environ={})

    def lines(self) -> list[str]:
        lines = self.out.getvalue().splitlines()
        self.out.seek(0)
        self.out.truncate()
        return lines


@pytest.fixture
def term(request: pytest.FixtureRequest) -> Iterator[Terminal]:
    out = io.StringIO()
    logger = Logger(service=f"terminal-{request.node.name}", stream=out)
    term = Terminal(logger, out)
    try:
        yield term
    finally:
        term.uninstall()


def rest(line: str) -> str:
    """The line without its time."""
    assert re.match(rf"^{STAMP} ", line), line
    return line.split(" ", 1)[1]


@pytest.mark.parametrize(
    ("message", "fields", "expected"),
    [
        ("message published", {"message_id": ID, "url": URL}, f"published  {ID} -> {URL}"),
        (
            "delivered",
            {"message_id": ID, "url": URL, "attempt": 0, "status": 200, "error": None, "latency_ms": 12},
            f"delivered  {ID} {URL} 200 in 12 ms",
        ),
        (
            "delivered",
            {"message_id": ID, "url": URL, "attempt": 2, "status": 204, "error": None, "latency_ms": 3},
            f"delivered  {ID} {URL} 204 in 3 ms (attempt 2)",
        ),
        (
            "failed",
            {"message_id": ID, "url": URL, "attempt": 3, "status": 500, "latency_ms": 4, "dlq_id": DLQ_ID},
            f"failed     {ID} {URL} 500 -> DLQ {DLQ_ID} (attempt 3)",
        ),
        (
            "failed",
            {"message_id": ID, "url": URL, "attempt": 0, "status": None, "error": "timeout: 5 s", "dlq_id": DLQ_ID},
            f"failed     {ID} {URL} timeout: 5 s -> DLQ {DLQ_ID}",
        ),
        ("message cancelled", {"message_id": ID, "outcome": "canceled"}, f"cancelled  {ID}"),
        (
            "message cancelled",
            {"message_id": ID, "outcome": "requested"},
            f"cancelling {ID} (its attempt in flight is the last)",
        ),
        (
            "canceled",
            {"message_id": ID, "url": URL, "attempt": 1, "status": 503},
            f"cancelled  {ID} {URL} 503 (attempt 1)",
        ),
        (
            "schedule fired",
            {"schedule_id": "scd_1", "tick": 1, "messages": [ID, DLQ_ID], "error": None},
            f"schedule   scd_1 fired -> {ID} {DLQ_ID}",
        ),
        (
            "schedule fired",
            {"schedule_id": "scd_1", "tick": 1, "messages": [], "error": "url group g not found"},
            "schedule   scd_1 fired, nothing published: url group g not found",
        ),
        ("dispatched from queue", {"queue": "orders", "message_id": ID}, f"dispatched {ID} from queue orders"),
        (
            "duplicate publish",
            {"message_id": ID, "dedup_id": "d1"},
            f"duplicate  {ID} (deduplication id d1): not sent again",
        ),
    ],
)
def test_each_event_is_one_line(term: Terminal, message: str, fields: dict[str, Any], expected: str) -> None:
    # When a service logs the event, as services do (keyword arguments; `extra=` for the delivery outcomes)
    if message in ("delivered", "failed", "canceled"):
        term.logger.info(message, extra=fields)
    else:
        term.logger.info(message, **fields)

    # Then the terminal shows one line: the local time, then the event
    [line] = term.lines()
    assert rest(line) == expected


def test_a_retry_says_when_the_next_attempt_is(term: Terminal) -> None:
    next_at = int(time.time() * 1000) + 150_000
    log = {"message_id": ID, "url": URL, "attempt": 0, "status": 500, "error": None, "next_delivery_at": next_at}
    term.logger.info("retry_scheduled", extra=log)
    term.logger.info("retry_scheduled", extra={**log, "status": None, "error": "connection error: refused"})

    first, second = term.lines()
    assert rest(first) == f"retry      {ID} {URL} 500 next in 2 min 30 s (attempt 0)"
    assert rest(second) == f"retry      {ID} {URL} connection error: refused next in 2 min 30 s (attempt 0)"


@pytest.mark.parametrize(
    ("ms", "said"),
    [
        (-5, "0 ms"),
        (850, "850 ms"),
        (12_500, "12.5 s"),
        (60_000, "1 min"),
        (200_000, "3 min 20 s"),
        (7_500_000, "2 h 5 min"),
    ],
)
def test_waits_read_as_people_say_them(ms: int, said: str) -> None:
    assert terminal._wait(ms) == said


def test_other_info_lines_are_dropped_and_warnings_and_errors_kept(term: Terminal) -> None:
    # Given what the handlers log besides the events: Powertools' and the services' other INFO lines
    term.logger.append_keys(cold_start=True, function_request_id="abc")  # as inject_lambda_context does
    term.logger.info("unfinished messages tracked by the pending index", count=3)
    term.logger.info("delivery record dropped", message_id=ID, attempt=0, fate="drop_stale")
    term.logger.debug("a debug line")
    # And a warning, an error with an exception, and a warning that happens to be named as an outcome
    term.logger.warning("overdue messages re-enqueued", count=2)
    try:
        raise ConnectionError("queue unreachable\nat all")
    except ConnectionError:
        term.logger.exception("delivery queue unreachable", message_ids=[ID, DLQ_ID])
    term.logger.warning("another worker finished this attempt first", extra={"message_id": ID, "status": None})

    # Then only the warnings and errors show, one line each, with their message and fields (and no context keys)
    lines = [rest(line) for line in term.lines()]
    assert lines == [
        "warning    overdue messages re-enqueued count=2",
        f"error      delivery queue unreachable message_ids={ID},{DLQ_ID} "
        'exception="ConnectionError: queue unreachable at all"',
        f"warning    another worker finished this attempt first message_id={ID}",
    ]


def test_at_debug_every_line_shows(term: Terminal) -> None:
    term.uninstall()
    term.logger.setLevel("DEBUG")
    term.uninstall = terminal.install(term.logger, environ={})
    term.logger.debug("a debug line", key="value")
    term.logger.info("unfinished messages tracked by the pending index", count=3)

    assert [rest(line) for line in term.lines()] == [
        "debug      a debug line key=value",
        "info       unfinished messages tracked by the pending index count=3",
    ]


def test_colour_only_when_asked(term: Terminal) -> None:
    # Without colour: no escape code at all
    term.logger.info("delivered", extra={"message_id": ID, "url": URL, "attempt": 0, "status": 200, "latency_ms": 1})
    term.logger.error("request failed", error="boom")
    assert not any("\033" in line for line in term.lines())

    # With colour: green delivered, red errors, dim ids and time
    term.uninstall()
    term.uninstall = terminal.install(term.logger, environ={"FORCE_COLOR": "1"})
    term.logger.info("delivered", extra={"message_id": ID, "url": URL, "attempt": 0, "status": 200, "latency_ms": 1})
    term.logger.info("failed", extra={"message_id": ID, "url": URL, "attempt": 0, "status": 500, "dlq_id": DLQ_ID})
    term.logger.info("retry_scheduled", extra={"message_id": ID, "url": URL, "attempt": 0, "status": 500})
    term.logger.error("request failed", error="boom")
    delivered, failed, retry, error = term.lines()
    assert delivered.startswith(terminal.DIM) and f"{terminal.GREEN}delivered" in delivered
    assert f"{terminal.DIM}{ID}{terminal.RESET}" in delivered
    assert f"{terminal.RED}failed" in failed and f"{terminal.YELLOW}retry" in retry
    assert f"{terminal.RED}error" in error


class FakeStream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("tty", "environ", "wanted"),
    [
        (True, {}, True),
        (False, {}, False),
        (True, {"NO_COLOR": "1"}, False),
        (True, {"NO_COLOR": ""}, True),  # no-color.org: set and not empty
        (False, {"FORCE_COLOR": "1"}, True),
        (False, {"FORCE_COLOR": "0"}, False),
        (True, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
    ],
)
def test_colour_on_a_terminal_unless_no_color(tty: bool, environ: dict[str, str], wanted: bool) -> None:
    assert terminal.colour_wanted(FakeStream(tty), environ) is wanted


def test_uninstall_gives_the_json_lines_back(term: Terminal) -> None:
    term.uninstall()
    term.logger.info("unfinished messages tracked by the pending index", count=3)

    [line] = term.lines()
    assert json.loads(line)["message"] == "unfinished messages tracked by the pending index"
    assert json.loads(line)["count"] == 3


@pytest.mark.parametrize(
    ("flag", "environ", "default", "chosen"),
    [
        (None, {}, "pretty", "pretty"),
        (None, {}, "json", "json"),
        (None, {"POSTBOX_LOG_FORMAT": "JSON "}, "pretty", "json"),
        ("pretty", {"POSTBOX_LOG_FORMAT": "json"}, "json", "pretty"),  # the flag wins
    ],
)
def test_the_flag_then_the_variable_then_the_default(
    flag: str | None, environ: dict[str, str], default: str, chosen: str
) -> None:
    assert terminal.log_format(flag, environ, default) == chosen


def test_a_variable_that_names_no_format_is_refused() -> None:
    with pytest.raises(ValueError, match="POSTBOX_LOG_FORMAT is pretty or json, not 'yaml'"):
        terminal.log_format(None, {"POSTBOX_LOG_FORMAT": "yaml"}, "pretty")


def test_every_rendered_message_is_one_a_service_logs() -> None:
    from functions.delivery.service import Outcome

    sources = "".join(
        path.read_text() for path in (ROOT / "functions").rglob("*.py") if "local" not in path.relative_to(ROOT).parts
    )
    outcomes = {outcome.value for outcome in Outcome}
    for message in terminal.RENDERERS:
        assert message in outcomes or f'logger.info("{message}"' in sources, message


def test_postbox_dev_forwards_the_log_format(monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.main import app

    seen: list[list[str]] = []

    def main(argv: list[str]) -> int:
        seen.append(argv)
        return 0

    monkeypatch.setattr("local_mode.__main__.main", main)

    CliRunner().invoke(app, ["dev", "--port", "0", "--log-format", "json"])
    CliRunner().invoke(app, ["dev", "--port", "0"])

    assert seen == [["dev", "--port", "0", "--log-format", "json"], ["dev", "--port", "0"]]


def test_install_keeps_the_loggers_key_methods_working(term: Terminal) -> None:
    term.logger.append_keys(correlation_id="c1")
    term.logger.clear_state()
    term.logger.remove_keys(["correlation_id"])
    term.logger.info("message published", message_id=ID, url=URL)

    [line] = term.lines()
    assert rest(line) == f"published  {ID} -> {URL}"
    assert isinstance(logging.getLogger(term.logger.name).handlers[0].formatter, terminal.TerminalFormatter)
