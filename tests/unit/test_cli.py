"""The CLI's pure parts: headers, durations, times and filters as typed; exit codes; the client's error messages;
how a bulk command ends when interrupted or failing midway; where it connects; list tables at terminal widths."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
import requests
import typer
from pytest_httpserver import HTTPServer
from rich.console import Console
from typer.testing import CliRunner
from werkzeug import Request, Response

from cli import render
from cli.client import DEFAULT_TOKEN, DEFAULT_URL, ApiError, error_message
from cli.columns import EDGE, GUTTER, Column, FittedTable, fit
from cli.main import ExitCode, _bulk, app, exit_code
from cli.parsing import (
    DLQ_FILTERS,
    LOG_FILTERS,
    chunks,
    duration_seconds,
    format_time,
    parse_duration,
    parse_filters,
    parse_header,
    parse_instant,
    parse_since,
    publish_headers,
)
from functions.api.requests import DlqQuery, EventQuery
from functions.shared.ids import uuid7

NOW_MS = 1_800_000_000_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("X-Tenant:7", ("X-Tenant", "7")),
        ("X-Tenant: seven ", ("X-Tenant", "seven")),
        ("Authorization: Bearer a:b", ("Authorization", "Bearer a:b")),  # only the first colon splits
        ("X-Empty:", ("X-Empty", "")),
    ],
)
def test_headers_are_name_colon_value(text: str, expected: tuple[str, str]) -> None:
    assert parse_header(text) == expected


@pytest.mark.parametrize("text", ["X-Tenant=7", ":7", "Bad Name:7", "", "Ünicode:1"])
def test_malformed_headers_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="NAME:VALUE"):
        parse_header(text)


def test_headers_for_the_destination_are_forwarded_and_the_apis_own_are_not() -> None:
    # Given headers as the command line gives them
    pairs = [
        ("X-Tenant", "7"),
        ("Content-Type", "application/json"),
        ("Upstash-Retries", "1"),
        ("upstash-forward-X-Raw", "kept"),
        ("x-tenant", "8"),
    ]

    # When they become the publish request's headers
    headers = publish_headers(pairs)

    # Then destination headers are forwarded (a repeated one joined), the API's own are sent as they are
    assert headers == {
        "Upstash-Forward-X-Tenant": "7, 8",
        "Content-Type": "application/json",
        "Upstash-Retries": "1",
        "upstash-forward-X-Raw": "kept",
    }


@pytest.mark.parametrize(
    ("text", "seconds", "header"),
    [("90", 90, "90s"), ("10s", 10, "10s"), ("1h30m", 5400, "1h30m"), ("2D", 172800, "2d"), (" 5m ", 300, "5m")],
)
def test_durations(text: str, seconds: int, header: str) -> None:
    assert duration_seconds(text) == seconds
    assert parse_duration(text) == header


@pytest.mark.parametrize("text", ["", "1x", "h", "-5s", "1.5h", "10 s"])
def test_malformed_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1700000000", 1_700_000_000_000),  # unix seconds
        ("1700000000123", 1_700_000_000_123),  # unix milliseconds
        ("2026-11-23T10:00:00", int(datetime(2026, 11, 23, 10, tzinfo=UTC).timestamp() * 1000)),  # UTC when naive
        ("2026-11-23T10:00:00+01:00", int(datetime(2026, 11, 23, 9, tzinfo=UTC).timestamp() * 1000)),
        ("2026-11-23T10:00:00Z", int(datetime(2026, 11, 23, 10, tzinfo=UTC).timestamp() * 1000)),
        ("2026-11-23", int(datetime(2026, 11, 23, tzinfo=UTC).timestamp() * 1000)),
    ],
)
def test_instants(text: str, ms: int) -> None:
    assert parse_instant(text) == ms
    assert parse_since(text, NOW_MS) == ms


def test_since_takes_a_duration_as_that_long_ago() -> None:
    assert parse_since("2h", NOW_MS) == NOW_MS - 7_200_000
    assert parse_since("1d", NOW_MS) == NOW_MS - 86_400_000


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "2h ago"])
def test_malformed_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid time"):
        parse_since(text, NOW_MS)


def test_filters_take_the_apis_names_and_short_forms() -> None:
    # Given filters in the API's spelling, other spellings and short forms
    pairs = [
        "url=http://127.0.0.1:9/hook?a=b",
        "Status=500",
        "topic_name=orders",
        "queue-name=q",
        "from=2h",
        "to=1700000000",
    ]

    # When read for the DLQ
    filters = parse_filters(pairs, DLQ_FILTERS, NOW_MS)

    # Then they are the API's query parameters, times in unix ms, values kept whole (an `=` in a URL too)
    assert filters == {
        "url": ["http://127.0.0.1:9/hook?a=b"],
        "responseStatus": ["500"],
        "topicName": ["orders"],
        "queueName": ["q"],
        "fromDate": [str(NOW_MS - 7_200_000)],
        "toDate": ["1700000000000"],
    }


@pytest.mark.parametrize(
    ("pairs", "allowed", "message"),
    [
        (["bogus=1"], DLQ_FILTERS, "unknown filter 'bogus'"),
        (["status=500"], LOG_FILTERS, "unknown filter 'status'"),  # the log has no response status filter
        (["state=FAILED"], DLQ_FILTERS, "unknown filter 'state'"),
        (["url"], DLQ_FILTERS, "expected KEY=VALUE"),
        (["=x"], DLQ_FILTERS, "expected KEY=VALUE"),
        (["label="], DLQ_FILTERS, "needs a value"),
        (["from=1h", "fromDate=2h"], DLQ_FILTERS, "given twice"),
        (["from=soon"], LOG_FILTERS, "invalid time"),
    ],
)
def test_bad_filters_are_refused(pairs: list[str], allowed: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_filters(pairs, allowed, NOW_MS)


def test_log_filters() -> None:
    assert parse_filters(["messageId=m1", "state=delivered"], LOG_FILTERS, NOW_MS) == {
        "messageId": ["m1"],
        "state": ["delivered"],  # the API checks and upper-cases it
    }


def test_a_filter_given_again_adds_a_value() -> None:
    assert parse_filters(["label=a", "Label=b", "host=h"], LOG_FILTERS, NOW_MS) == {"label": ["a", "b"], "host": ["h"]}


def test_the_filters_are_the_apis() -> None:
    # The CLI offers exactly the filters of the routes it calls (it installs without the API's modules)
    paging = {"cursor", "count", "order"}
    assert set(DLQ_FILTERS) == {f.alias or n for n, f in DlqQuery.model_fields.items()} - paging - {"dlqIds"}
    assert set(LOG_FILTERS) == {f.alias or n for n, f in EventQuery.model_fields.items()} - paging - {"messageIds"}


def test_times_are_shown_in_utc() -> None:
    assert format_time(1_700_000_000_000) == "2023-11-14 22:13:20"
    assert format_time(None) == ""


def test_chunks() -> None:
    assert chunks(["a", "b", "c", "d", "e"], 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert chunks([], 100) == []


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, ExitCode.REFUSED),
        (409, ExitCode.REFUSED),
        (413, ExitCode.REFUSED),
        (401, ExitCode.AUTH),
        (403, ExitCode.AUTH),
        (404, ExitCode.NOT_FOUND),
        (429, ExitCode.SERVER),
        (500, ExitCode.SERVER),
        (503, ExitCode.SERVER),
    ],
)
def test_exit_codes_by_status(status: int, code: ExitCode) -> None:
    assert exit_code(status) == code


def test_exit_codes_are_distinct_and_usage_is_clicks() -> None:
    assert len({int(code) for code in ExitCode}) == len(ExitCode)
    assert int(ExitCode.OK) == 0 and int(ExitCode.USAGE) == 2


def _response(status: int, body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = "Reason"
    response._content = body
    return response


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"error": "dlq message x not found"}', "dlq message x not found"),
        (b'{"error": {"code": "not_found", "message": "no such message"}, "meta": {}}', "no such message"),
        (b"<html>Bad gateway</html>", "<html>Bad gateway</html>"),
        (b"", "502 Reason"),
    ],
)
def test_error_messages_are_the_apis(body: bytes, message: str) -> None:
    assert error_message(_response(502, body)) == message


def test_defaults_are_local_modes() -> None:
    from local_mode.backend import DEFAULT_TOKEN as LOCAL_TOKEN
    from local_mode.runtime import LocalMode

    assert DEFAULT_TOKEN == LOCAL_TOKEN
    assert DEFAULT_URL.rsplit(":", 1)[1] == str(LocalMode().port)


def test_the_cli_is_an_http_client_only() -> None:
    # Given a fresh interpreter
    code = "import json, sys, cli.main; print(json.dumps(sorted(sys.modules)))"

    # When it imports the CLI
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout)

    # Then no handler, service, local mode, boto3 or moto came with it
    postbox = {name for name in loaded if name.startswith("functions.")}
    assert postbox <= {"cli", "cli.main", "cli.client", "cli.parsing"} | {
        "cli.render",
        "cli.columns",
    }
    assert not {"boto3", "botocore", "moto", "aws_lambda_powertools"} & set(loaded)


def test_an_interrupted_bulk_command_reports_what_was_done_and_exits_130() -> None:
    # Given a bulk action that is interrupted (Ctrl-C) after its first chunk
    done: list[Sequence[str]] = []
    reports: list[int] = []

    def act(chunk: Sequence[str]) -> int:
        if done:
            raise KeyboardInterrupt
        done.append(chunk)
        return len(chunk)

    # When it runs over three ids in chunks of two
    with pytest.raises(typer.Exit) as stopped:
        _bulk("Deleting", ["a", "b", "c"], True, 2, act, lambda: reports.append(len(done)), json_output=True)

    # Then what was done is reported, and the exit code says it was interrupted
    assert stopped.value.exit_code == int(ExitCode.INTERRUPTED) == 130
    assert done == [["a", "b"]] and reports == [1]


def test_a_bulk_command_failing_midway_reports_what_was_done_then_fails() -> None:
    reports: list[str] = []

    def act(chunk: Sequence[str]) -> int:
        if chunk[0] == "c":
            raise ApiError(503, "the API tokens cannot be read; try again")
        return len(chunk)

    with pytest.raises(ApiError):
        _bulk("Retrying", ["a", "b", "c"], False, 2, act, lambda: reports.append("reported"), json_output=True)
    assert reports == ["reported"]


# --- where the CLI connects: --url/--token, else POSTBOX_*, else QSTASH_* (what `postbox dev` prints), else local's


CONNECTION_VARIABLES = ("POSTBOX_URL", "POSTBOX_TOKEN", "QSTASH_URL", "QSTASH_TOKEN")
EVERY_VARIABLE = {
    "POSTBOX_URL": "{postbox}",
    "POSTBOX_TOKEN": "t-postbox",
    "QSTASH_URL": "{qstash}",
    "QSTASH_TOKEN": "t-qstash",
}


@pytest.mark.parametrize(
    ("flags", "env", "called", "token"),
    [
        (["--url", "{flag}", "--token", "t-flag"], EVERY_VARIABLE, "flag", "t-flag"),
        ([], EVERY_VARIABLE, "postbox", "t-postbox"),
        ([], {"QSTASH_URL": "{qstash}", "QSTASH_TOKEN": "t-qstash"}, "qstash", "t-qstash"),
        ([], {**EVERY_VARIABLE, "POSTBOX_URL": "", "POSTBOX_TOKEN": ""}, "qstash", "t-qstash"),  # empty is unset
        ([], {"POSTBOX_URL": "{postbox}", "QSTASH_TOKEN": "t-qstash"}, "postbox", "t-qstash"),  # each on its own
        (["--url", "{flag}"], {"QSTASH_URL": "{qstash}", "POSTBOX_TOKEN": "t-postbox"}, "flag", "t-postbox"),
        (["--url", "{flag}"], {}, "flag", DEFAULT_TOKEN),
    ],
)
def test_url_and_token_by_precedence(
    httpserver: HTTPServer, flags: list[str], env: dict[str, str], called: str, token: str
) -> None:
    # Given one server, reached at a base URL of its own per source: the path says which URL was called
    seen: list[tuple[str, str | None]] = []

    def answer(request: Request) -> Response:
        seen.append((request.path.split("/")[1], request.headers.get("Authorization")))
        return Response(json.dumps({"current": "c", "next": "n"}), content_type="application/json")

    httpserver.expect_request(re.compile(r"/\w+/v2/keys")).respond_with_handler(answer)
    base = {name: httpserver.url_for(f"/{name}") for name in ("flag", "postbox", "qstash")}

    # When the CLI runs with those flags and only those variables set
    variables: dict[str, str | None] = dict.fromkeys(CONNECTION_VARIABLES)
    variables |= {name: value.format(**base) for name, value in env.items()}
    result = CliRunner().invoke(app, [*(flag.format(**base) for flag in flags), "keys", "--json"], env=variables)

    # Then the first source set gave the URL, and the first set for it the token
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert seen == [(called, f"Bearer {token}")]


def test_with_nothing_set_the_url_and_token_are_local_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONNECTION_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    context = typer.main.get_command(app).make_context("postbox", ["keys"])

    assert (context.params["url"], context.params["token"]) == (DEFAULT_URL, DEFAULT_TOKEN)


# --- list tables at terminal widths: ids whole, columns left out by priority ---------------------------


def _dlq_list() -> tuple[FittedTable, list[str], tuple[Column, ...]]:
    """`dlq list`'s table of three entries with real ids (UUIDv7, as the worker makes them) and long URLs."""
    entries = [
        {
            "dlqId": uuid7(),
            "messageId": uuid7(),
            "url": f"http://127.0.0.1:9000/hooks/orders/{n}/a-rather-long-path?tenant=7&region=eu-west-1",
            "responseStatus": 500,
            "label": "orders-eu-west-1",
            "createdAt": NOW_MS,
        }
        for n in range(3)
    ]
    ids = [str(entry[key]) for entry in entries for key in ("dlqId", "messageId")]
    return render.dlq_table(entries), ids, render.DLQ_COLUMNS


def _logs() -> tuple[FittedTable, list[str], tuple[Column, ...]]:
    """`logs`' table of three events with real message ids, long URLs and notes."""
    events = [
        {
            "time": NOW_MS,
            "state": "RETRY",
            "messageId": uuid7(),
            "url": "http://127.0.0.1:9000/hooks/orders/a-rather-long-path?tenant=7",
            "responseStatus": 503,
            "error": "the destination answered 503 Service Unavailable",
            "nextDeliveryTime": NOW_MS + 60_000,
        }
        for _ in range(3)
    ]
    return render.logs_table(events), [str(event["messageId"]) for event in events], render.LOG_COLUMNS


LIST_TABLES = {"dlq list": _dlq_list, "logs": _logs}


def _printed(table: FittedTable, width: int) -> list[str]:
    """The lines a terminal `width` columns wide shows, printed as the commands print it."""
    out = Console(width=width, record=True, highlight=False, color_system=None)
    out.print(table, crop=False)
    return out.export_text().splitlines()


def _headers_shown(lines: list[str]) -> list[str]:
    header = next(line for line in lines if line.startswith("┃"))
    return [cell.strip() for cell in header.strip("┃").split("┃")]


@pytest.mark.parametrize("command", LIST_TABLES)
def test_list_tables_keep_ids_whole_and_leave_out_columns_by_priority(command: str) -> None:
    table, ids, columns = LIST_TABLES[command]()
    assert all(len(identifier) == 36 for identifier in ids)
    by_priority = [column.header for column in sorted(columns, key=lambda column: column.priority)]
    in_order = [column.header for column in columns]
    always = {column.header for column in columns if column.priority == 0}
    shown: dict[int, list[str]] = {}
    for width in (80, 120, 200):
        # When the list is printed at this width
        lines = _printed(table, width)

        # Then every id is there whole, no line is wider than the terminal, and the ids' columns are shown
        assert all(any(identifier in line for line in lines) for identifier in ids)
        assert max(len(line) for line in lines) <= width
        shown[width] = _headers_shown(lines)
        assert always <= set(shown[width])

        # The columns shown are the first ones by priority, each whole or left out, in the table's own order
        assert sorted(shown[width], key=by_priority.index) == by_priority[: len(shown[width])]
        assert shown[width] == [header for header in in_order if header in shown[width]]

    # A narrower terminal shows some of a wider one's columns; 200 columns show them all
    assert set(shown[80]) <= set(shown[120]) <= set(shown[200]) == set(in_order)
    assert len(shown[80]) < len(shown[120]) < len(shown[200])


@pytest.mark.parametrize("command", LIST_TABLES)
def test_a_terminal_narrower_than_the_ids_gets_them_whole_on_longer_lines(command: str) -> None:
    table, ids, columns = LIST_TABLES[command]()

    lines = _printed(table, 30)

    assert all(any(identifier in line for line in lines) for identifier in ids)
    assert _headers_shown(lines) == [column.header for column in columns if column.priority == 0]


def test_columns_that_may_shrink_are_ellipsized_not_squeezed_out() -> None:
    # Given a URL column that may shrink to 10, after an id of 36
    columns = (Column("ID", 0), Column("URL", 1, shrink_to=10), Column("Note", 2, shrink_to=10))

    # When there is room for the id and 10 to 12 more cells, or for both
    assert fit(columns, [36, 50, 40], EDGE + 36 + GUTTER + 10 + GUTTER) == {0: 36, 1: 10}
    assert fit(columns, [36, 50, 40], EDGE + 36 + GUTTER + 12 + GUTTER + 9) == {0: 36, 1: 21}
    assert fit(columns, [36, 50, 40], EDGE + 36 + GUTTER + 10 + GUTTER + 10 + GUTTER) == {0: 36, 1: 10, 2: 10}

    # Then one column is given the room left over, up to its natural width, before the next by priority
    assert fit(columns, [36, 8, 40], 200) == {0: 36, 1: 8, 2: 40}
