"""Output: rich tables for people, the API's JSON for scripts (`--json`)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from cli.columns import Column, FittedTable
from cli.parsing import format_time

PIPED_WIDTH = 200  # when the output is not a terminal, lines are not cut to 80 columns


def console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr) as it is now (CliRunner swaps them); wide when piped, unless COLUMNS says."""
    out = Console(stderr=stderr, highlight=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out = Console(stderr=stderr, highlight=False, width=PIPED_WIDTH)
    return out


def print_json(value: Any) -> None:
    """The JSON on stdout, as it is (no colour, no wrapping), for `jq` and scripts."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def progress(*, enabled: bool) -> Progress:
    """The bar of a bulk retry or delete, on stderr; off when stderr is not a terminal, or with `--json`."""
    err = console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
        disable=not enabled or not err.is_terminal,
        redirect_stdout=False,
        redirect_stderr=False,
    )


def _text(value: Any) -> str:
    return "" if value is None else escape(str(value))


def _headers(header: Mapping[str, Sequence[str]] | None) -> str:
    return "\n".join(f"{escape(name)}: {escape(', '.join(values))}" for name, values in (header or {}).items())


def _fields(title: str, rows: Iterable[tuple[str, Any]]) -> Table:
    """A two-column table of the rows whose value is set."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in rows:
        if value not in (None, "", {}, []):
            table.add_row(name, value if isinstance(value, str) else _text(value))
    return table


def _body(data: Mapping[str, Any], text_key: str, base64_key: str) -> str:
    if data.get(text_key) is not None:
        return _text(data[text_key])
    if data.get(base64_key) is not None:
        return f"(base64) {_text(data[base64_key])}"
    return ""


def _message_rows(message: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [
        ("Message ID", _text(message.get("messageId"))),
        ("URL", _text(message.get("url"))),
        ("Method", _text(message.get("method"))),
        ("Topic", _text(message.get("topicName"))),
        ("Queue", _text(message.get("queueName"))),
        ("Schedule", _text(message.get("scheduleId"))),
        ("Label", _text(message.get("label"))),
        ("Created (UTC)", format_time(message.get("createdAt"))),
        ("Not before (UTC)", format_time(message.get("notBefore"))),
        ("Retries", _text(message.get("maxRetries"))),
        ("Retry delay", _text(message.get("retryDelayExpression"))),
        ("Callback", _text(message.get("callback"))),
        ("Failure callback", _text(message.get("failureCallback"))),
        ("Headers", _headers(message.get("header"))),
        ("Body", _body(message, "body", "bodyBase64")),
    ]


def message_table(details: Mapping[str, Any], message: Mapping[str, Any] | None) -> Table:
    """`postbox messages get`: the status (GET /v1/messages) and the message (GET /v2/messages), when readable."""
    rows: list[tuple[str, Any]] = [
        ("Message ID", _text(details.get("id"))),
        ("Status", _text(details.get("status"))),
        ("Attempts", _text(details.get("attempt_count"))),
        ("Replays", _text(details.get("replay_count") or None)),
        ("Next attempt", _text(details.get("next_attempt_at"))),
        ("Last error", _text(details.get("last_error"))),
        ("Response status", _text(details.get("response_status"))),
        ("Response time", f"{details['response_latency_ms']} ms" if details.get("response_latency_ms") else None),
    ]
    if message is not None:
        rows += [row for row in _message_rows(message) if row[0] != "Message ID"]
    else:
        rows.append(("Message", "(finished: its request is no longer served by GET /v2/messages)"))
    return _fields("Message", rows)


def dlq_entry_table(entry: Mapping[str, Any]) -> Table:
    """`postbox dlq show`: the message and the last failed attempt's response."""
    rows = [("DLQ ID", _text(entry.get("dlqId"))), *_message_rows(entry)]
    rows += [
        ("Response status", _text(entry.get("responseStatus"))),
        ("Response headers", _headers(entry.get("responseHeader"))),
        ("Response body", _body(entry, "responseBody", "responseBodyBase64")),
    ]
    return _fields("DLQ entry", rows)


# The list tables' columns by priority: ids always, then what a row is about, then when, then the rest.
DLQ_COLUMNS = (
    Column("DLQ ID", 0),
    Column("Message ID", 0),
    Column("URL", 2, shrink_to=24),
    Column("Status", 1, justify="right"),
    Column("Label", 4, shrink_to=12),
    Column("Created (UTC)", 3),
)
LOG_COLUMNS = (
    Column("Time (UTC)", 2),
    Column("State", 1),
    Column("Message ID", 0),
    Column("URL", 3, shrink_to=24),
    Column("Status", 4, justify="right"),
    Column("Note", 5, shrink_to=24),
)


def _plain(value: Any) -> str:
    return "" if value is None else str(value)


def dlq_table(messages: Sequence[Mapping[str, Any]]) -> FittedTable:
    """`postbox dlq list`: the columns that fit the terminal (columns.py), the ids whole."""
    rows = [
        (
            _plain(entry.get("dlqId")),
            _plain(entry.get("messageId")),
            _plain(entry.get("url") or entry.get("topicName")),
            _plain(entry.get("responseStatus")),
            _plain(entry.get("label")),
            format_time(entry.get("createdAt")),
        )
        for entry in messages
    ]
    title = f"DLQ ({len(messages)} {'entry' if len(messages) == 1 else 'entries'})"
    return FittedTable(title, DLQ_COLUMNS, rows)


def logs_table(logs: Sequence[Mapping[str, Any]]) -> FittedTable:
    """`postbox logs`: the columns that fit the terminal (columns.py), the message ids whole."""
    rows = []
    for event in logs:
        note = event.get("error") or ""
        if event.get("nextDeliveryTime"):
            note = f"{note}; next attempt {format_time(event['nextDeliveryTime'])}".lstrip("; ")
        rows.append(
            (
                format_time(event.get("time")),
                _plain(event.get("state")),
                _plain(event.get("messageId")),
                _plain(event.get("url")),
                _plain(event.get("responseStatus")),
                _plain(note),
            )
        )
    return FittedTable(f"Event log ({len(logs)} {'event' if len(logs) == 1 else 'events'})", LOG_COLUMNS, rows)


def published_table(published: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title="Published", title_justify="left")
    table.add_column("Message ID", no_wrap=True)
    table.add_column("URL", overflow="fold")
    table.add_column("Deduplicated")
    for entry in published:
        table.add_row(
            _text(entry.get("messageId")), _text(entry.get("url")), "yes" if entry.get("deduplicated") else ""
        )
    return table


def keys_table(keys: Mapping[str, Any]) -> Table:
    table = Table(title="Signing keys", title_justify="left")
    table.add_column("Key", style="bold")
    table.add_column("Value", no_wrap=True)
    table.add_row("current", _text(keys.get("current")))
    table.add_row("next", _text(keys.get("next")))
    return table
