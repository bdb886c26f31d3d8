"""The CLI's pure parts: headers, durations, times and filters as typed; exit codes; the client's error messages;
how a bulk command ends when interrupted or failing midway."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
import requests
import typer

from functions.api.requests import DlqQuery, EventQuery
from functions.cli.client import DEFAULT_TOKEN, DEFAULT_URL, ApiError, error_message
from functions.cli.main import ExitCode, _bulk, exit_code
from functions.cli.parsing import (
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
    assert ExitCode.OK == 0 and ExitCode.USAGE == 2


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
    from functions.local.backend import DEFAULT_TOKEN as LOCAL_TOKEN
    from functions.local.runtime import LocalMode

    assert DEFAULT_TOKEN == LOCAL_TOKEN
    assert DEFAULT_URL.rsplit(":", 1)[1] == str(LocalMode().port)


def test_the_cli_is_an_http_client_only() -> None:
    # Given a fresh interpreter
    code = "import json, sys, functions.cli.main; print(json.dumps(sorted(sys.modules)))"

    # When it imports the CLI
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout)

    # Then no handler, service, local mode, boto3 or moto came with it
    postbox = {name for name in loaded if name.startswith("functions.")}
    assert postbox <= {"functions.cli", "functions.cli.main", "functions.cli.client", "functions.cli.parsing"} | {
        "functions.cli.render"
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
    assert stopped.value.exit_code == ExitCode.INTERRUPTED == 130
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
