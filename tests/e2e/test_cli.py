"""The `postbox` CLI against local mode: every command, its `--json`, its tables and its exit codes.

Commands run in this process through typer's CliRunner against the module's local mode; receivers are real HTTP
servers on 127.0.0.1. One test runs the installed console script, `postbox dev` included, as processes.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner, Result
from werkzeug import Request, Response

from cli.main import ExitCode, app
from local_mode.backend import DEFAULT_SIGNING_KEYS, DEFAULT_TOKEN
from tests.e2e.conftest import wait_until

pytestmark = pytest.mark.e2e

runner = CliRunner()
COMMANDS = ("dev", "publish", "messages", "dlq", "logs", "keys")


Env = dict[str, str | None]
UNSET: Env = dict.fromkeys(("POSTBOX_URL", "POSTBOX_TOKEN", "QSTASH_URL", "QSTASH_TOKEN"))


def postbox(local: Any, *args: str, input: str | bytes | None = None, env: Env | None = None) -> Result:
    """`postbox --url <local mode> --token <its token> ARGS...`, in this process."""
    return invoke("--url", local.url, "--token", local.token, *args, input=input, env=env)


def invoke(*args: str, input: str | bytes | None = None, env: Env | None = None) -> Result:
    """`postbox ARGS...`, in this process, with none of the variables it takes its URL and token from but `env`'s."""
    return runner.invoke(app, list(args), input=input, env={"COLUMNS": "200", **UNSET, **(env or {})})


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return json.loads(result.stdout)


class Receiver:
    """A destination that records what it gets and answers `status` (changeable while it runs)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.seen: list[tuple[Request, bytes]] = []

    def __call__(self, request: Request) -> Response:
        self.seen.append((request, request.get_data()))
        return Response("receiver says no" if self.status >= 400 else "ok", status=self.status)


@dataclass
class Failing:
    """A destination answering 500 (until told otherwise) at a URL of its own."""

    receiver: Receiver
    url: str


@pytest.fixture
def failing(httpserver: HTTPServer, request: pytest.FixtureRequest) -> Failing:
    path = "/" + request.node.name.removeprefix("test_")
    receiver = Receiver(500)
    httpserver.expect_request(path).respond_with_handler(receiver)
    return Failing(receiver, httpserver.url_for(path))


def dead_letters(local: Any, failing: Failing, count: int) -> list[str]:
    """`count` messages that fail at once (no retries) into the DLQ; their dlqIds, newest first."""
    for n in range(count):
        published = postbox(local, "publish", failing.url, "-d", f"message {n}", "--retries", "0")
        assert published.exit_code == 0, published.stderr

    def listed() -> list[str] | None:
        messages = as_json(postbox(local, "dlq", "list", "-f", f"url={failing.url}", "--json"))["messages"]
        return [m["dlqId"] for m in messages] if len(messages) == count else None

    return wait_until(listed, what=f"{count} DLQ entries")


# --- help, and the installed console script with `postbox dev` ------------------------------------------


def test_help_lists_every_command_and_the_exit_codes():
    result = invoke("--help")

    assert result.exit_code == 0
    for command in COMMANDS:
        assert f" {command} " in result.stdout
    assert "Exit codes" in result.stdout and "6  the server could not be reached" in result.stdout
    for group, commands in (("dlq", ("list", "show", "retry", "delete")), ("messages", ("get", "cancel"))):
        sub = invoke(group, "--help")
        assert sub.exit_code == 0 and all(f" {command} " in sub.stdout for command in commands)
    assert " rotate " in invoke("keys", "--help").stdout


def test_installed_script_runs_postbox_dev_and_talks_to_it():
    script = Path(sys.executable).with_name("postbox")
    assert script.is_file(), "the `postbox` console script is installed by `pip install -e .[local]` (make install)"
    assert subprocess.run([script, "--help"], capture_output=True, text=True, check=True).stdout.count("publish")

    # Given `postbox dev` on free ports, as `make dev` runs it
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    dev = subprocess.Popen(
        [script, "dev", "--port", "0", "--moto-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        lines = _lines(dev)
        url = next(line.split()[-1] for line in iter(lambda: lines.get(timeout=30), None) if "Base URL" in line)

        # When the installed CLI asks it for the signing keys, with the defaults' token
        keys = subprocess.run(
            [script, "--url", url, "keys", "--json"], capture_output=True, text=True, env=env, timeout=30, check=False
        )

        # Then it answers local mode's keys, and Ctrl-C stops `postbox dev` with exit 0
        assert keys.returncode == 0, keys.stderr
        assert json.loads(keys.stdout) == DEFAULT_SIGNING_KEYS
    finally:
        dev.send_signal(signal.SIGINT)
        assert dev.wait(timeout=30) == 0


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str | None]:
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


# --- publish and messages ------------------------------------------------------------------------------


def test_publish_delivers_the_body_and_headers_as_given(local, httpserver: HTTPServer):
    # Given a receiver
    receiver = Receiver(200)
    httpserver.expect_request("/orders").respond_with_handler(receiver)
    url = httpserver.url_for("/orders") + "?tenant=7"

    # When publishing to it with a body, a forwarded header, a content type and a label
    answer = as_json(
        postbox(
            local,
            "publish",
            url,
            "--body",
            '{"order": 42, "note": "café"}',
            "-H",
            "X-Tenant: seven",
            "-H",
            "Content-Type:application/json",
            "--label",
            "orders",
            "--retries",
            "0",
            "--json",
        )
    )

    # Then the answer is the API's, and the destination gets the message byte for byte
    assert set(answer) == {"messageId", "url"} and answer["url"] == url
    wait_until(lambda: receiver.seen, what="delivery")
    request, body = receiver.seen[0]
    assert body == '{"order": 42, "note": "café"}'.encode()
    assert request.args["tenant"] == "7"
    assert request.headers["X-Tenant"] == "seven"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Upstash-Message-Id"] == answer["messageId"]


def test_publish_reads_the_body_from_stdin_into_a_queue_and_prints_a_line(local, httpserver: HTTPServer):
    receiver = Receiver(200)
    httpserver.expect_request("/bytes").respond_with_handler(receiver)
    payload = bytes(range(256))

    url = httpserver.url_for("/bytes")
    result = postbox(local, "publish", url, "--file", "-", "--method", "put", "--queue", "cli-queue", input=payload)

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Published message ")
    wait_until(lambda: receiver.seen, what="delivery")
    request, body = receiver.seen[0]
    assert (request.method, body) == ("PUT", payload)
    message_id = request.headers["Upstash-Message-Id"]
    assert as_json(postbox(local, "messages", "get", message_id, "--json"))["message"]["queueName"] == "cli-queue"


def test_publish_to_a_url_group_lists_one_message_per_endpoint(local, httpserver: HTTPServer):
    # Given a URL group of two endpoints (made through the API: the CLI has no group commands)
    receiver = Receiver(200)
    httpserver.expect_request("/a").respond_with_handler(receiver)
    httpserver.expect_request("/b").respond_with_handler(receiver)
    endpoints = {"endpoints": [{"url": httpserver.url_for("/a")}, {"url": httpserver.url_for("/b")}]}
    made = requests.post(
        f"{local.url}/v2/topics/cli-group/endpoints",
        json=endpoints,
        headers={"Authorization": f"Bearer {local.token}"},
        timeout=10,
    )
    assert made.ok, made.text

    # When publishing to its name, as a table and as JSON
    table = postbox(local, "publish", "cli-group", "-d", "fan out")
    answer = as_json(postbox(local, "publish", "cli-group", "-d", "fan out", "--json"))

    # Then each lists a message per endpoint (--json: the API's bare list), and all four are delivered
    assert table.exit_code == 0 and "Published" in table.stdout
    assert httpserver.url_for("/a") in table.stdout and httpserver.url_for("/b") in table.stdout
    assert sorted(entry["url"] for entry in answer) == [httpserver.url_for("/a"), httpserver.url_for("/b")]
    wait_until(lambda: len(receiver.seen) == 4, what="four deliveries")


def test_a_delayed_message_is_looked_up_and_cancelled(local):
    # Given a message published an hour ahead
    published = as_json(postbox(local, "publish", "http://127.0.0.1:9/later", "-d", "x", "--delay", "1h", "--json"))
    message_id = published["messageId"]

    # When it is looked up
    shown = as_json(postbox(local, "messages", "get", message_id, "--json"))
    table = postbox(local, "messages", "get", message_id)

    # Then --json has the message (GET /v2/messages) and its status (GET /v1/messages), and the table both
    assert shown["message"]["messageId"] == message_id
    assert shown["message"]["notBefore"] - shown["message"]["createdAt"] == 3_600_000
    assert shown["details"]["status"] == "queued"
    assert table.exit_code == 0 and message_id in table.stdout and "queued" in table.stdout

    # When it is cancelled, twice
    first = postbox(local, "messages", "cancel", message_id)
    second = as_json(postbox(local, "messages", "cancel", message_id, "--json"))

    # Then the first cancels it and the second finds it finished: both exit 0
    assert first.exit_code == 0 and first.stdout.startswith("Cancelled message")
    assert second == {"cancelled": 0}
    assert as_json(postbox(local, "messages", "get", message_id, "--json"))["details"]["status"] == "cancelled"


def test_an_unknown_message_exits_3_with_the_apis_error(local):
    for command in ("get", "cancel"):
        result = postbox(local, "messages", command, "01a00000-0000-7000-8000-000000000000")
        assert result.exit_code == int(ExitCode.NOT_FOUND) == 3
        assert result.stdout == ""
        assert "not found (HTTP 404)" in result.stderr


def test_bad_input_is_a_usage_error_before_any_request(local):
    # When the command line is wrong
    results = [
        postbox(local, "publish", "http://127.0.0.1:9/x", "-H", "no colon"),
        postbox(local, "publish", "http://127.0.0.1:9/x", "--delay", "soon"),
        postbox(local, "publish", "http://127.0.0.1:9/x", "--not-before", "tomorrow"),
        postbox(local, "publish", "http://127.0.0.1:9/x", "-d", "a", "--file", "-"),
        postbox(local, "publish", "http://127.0.0.1:9/x", "--retries", "-1"),
        postbox(local, "dlq", "list", "-f", "colour=red"),
        postbox(local, "logs", "-f", "from=later"),
        postbox(local, "dlq", "list", "--count", "101"),
        postbox(local, "frobnicate"),
    ]

    # Then each exits 2, says why on stderr, and nothing was published
    for result in results:
        assert result.exit_code == int(ExitCode.USAGE) == 2, result.stdout
        assert result.stdout == "" and result.stderr
    assert as_json(postbox(local, "logs", "-f", "url=http://127.0.0.1:9/x", "--json")) == {"logs": []}


def test_a_request_the_api_refuses_exits_1(local):
    # A destination outside this machine (local mode delivers only to loopback) is a 400 at publish
    result = postbox(local, "publish", "http://10.1.2.3/hook", "-d", "x")

    assert result.exit_code == int(ExitCode.REFUSED) == 1
    assert "(HTTP 400)" in result.stderr and result.stdout == ""


# --- the DLQ -------------------------------------------------------------------------------------------


def test_dlq_list_and_show(local, failing):
    ids = dead_letters(local, failing, 3)
    url = failing.url

    # --json is the API's page; paging with --count and --cursor, or --all
    page = as_json(postbox(local, "dlq", "list", "-f", f"url={url}", "-n", "2", "--json"))
    rest = as_json(postbox(local, "dlq", "list", "-f", f"url={url}", "-n", "2", "--cursor", page["cursor"], "--json"))
    every = as_json(postbox(local, "dlq", "list", "-f", f"url={url}", "--all", "--oldest-first", "--json"))
    assert [m["dlqId"] for m in page["messages"] + rest["messages"]] == ids
    assert "cursor" not in rest
    assert [m["dlqId"] for m in every["messages"]] == ids[::-1]
    assert {m["responseStatus"] for m in every["messages"]} == {500}

    # Filters combine, by the API's names or short ones, with times as durations ago
    assert (
        len(as_json(postbox(local, "dlq", "list", "-f", f"url={url}", "-f", "status=500", "--json"))["messages"]) == 3
    )
    assert as_json(postbox(local, "dlq", "list", "-f", f"url={url}", "-f", "responseStatus=404", "--json")) == {
        "messages": []
    }
    assert len(as_json(postbox(local, "dlq", "list", "-f", f"url={url}", "-f", "from=10m", "--json"))["messages"]) == 3
    assert as_json(postbox(local, "dlq", "list", "-f", f"url={url}", "-f", "to=10m", "--json"))["messages"] == []

    # The table, and the hint for the next page on stderr
    table = postbox(local, "dlq", "list", "-f", f"url={url}", "-n", "2")
    assert table.exit_code == 0
    assert "DLQ (2 entries)" in table.stdout and ids[0] in table.stdout and ids[2] not in table.stdout
    assert f"--cursor {page['cursor']}" in table.stderr
    assert all(m["messageId"] in table.stdout for m in page["messages"]) and "Created (UTC)" in table.stdout

    # In 80 columns: the ids whole, the columns that do not fit left out
    narrow = postbox(local, "dlq", "list", "-f", f"url={url}", env={"COLUMNS": "80"})
    assert narrow.exit_code == 0
    assert all(m["dlqId"] in narrow.stdout and m["messageId"] in narrow.stdout for m in every["messages"])
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80
    assert "Created (UTC)" not in narrow.stdout

    # show: the entry (--json: the API's object), the last response included
    entry = as_json(postbox(local, "dlq", "show", ids[0], "--json"))
    assert entry["dlqId"] == ids[0] and entry["responseStatus"] == 500 and entry["responseBody"] == "receiver says no"
    shown = postbox(local, "dlq", "show", ids[0])
    assert shown.exit_code == 0 and "receiver says no" in shown.stdout and "Response status" in shown.stdout
    missing = postbox(local, "dlq", "show", "01a00000-0000-7000-8000-000000000000")
    assert missing.exit_code == ExitCode.NOT_FOUND and "not found" in missing.stderr


def test_dlq_retry_by_id_and_by_filter(local, failing):
    ids = dead_letters(local, failing, 4)
    receiver, url = failing.receiver, failing.url
    receiver.status = 200  # the destination is fixed

    # One by id: the new message's id
    one = as_json(postbox(local, "dlq", "retry", ids[0], "--json"))
    assert len(one["responses"]) == 1
    again = postbox(local, "dlq", "retry", ids[0])
    assert again.exit_code == ExitCode.NOT_FOUND and "not found (HTTP 404)" in again.stderr

    # Several ids, one of them gone: the others are retried, and the exit code says some were not found
    some = postbox(local, "dlq", "retry", ids[1], ids[0], "--json")
    assert some.exit_code == ExitCode.NOT_FOUND
    assert len(json.loads(some.stdout)["responses"]) == 1
    assert "1 of 2 DLQ entries were not found" in some.stderr

    # By filter, in chunks: the rest
    rest = postbox(local, "dlq", "retry", "-f", f"url={url}", "--chunk-size", "1")
    assert rest.exit_code == 0 and "Retried 2 of 2 DLQ entries" in rest.stdout
    assert as_json(postbox(local, "dlq", "list", "-f", f"url={url}", "--json"))["messages"] == []

    # Each retry is a new message, delivered
    delivered = wait_until(
        lambda: (
            {r.headers["Upstash-Message-Id"] for r, _ in receiver.seen if r.headers.get("Upstash-Retried") == "0"}
            if len(receiver.seen) >= 8
            else None
        ),
        what="the retried messages",
    )
    assert one["responses"][0]["messageId"] in delivered
    assert len(delivered) == 8  # 4 first attempts (failed) + 4 retries


def test_dlq_delete_by_id_and_by_filter_asks_first(local, failing):
    ids = dead_letters(local, failing, 4)
    url = failing.url

    # By id: no question
    assert as_json(postbox(local, "dlq", "delete", ids[0], "--json")) == {"deleted": 1}
    gone = postbox(local, "dlq", "delete", ids[0])
    assert gone.exit_code == ExitCode.NOT_FOUND and "not found (HTTP 404)" in gone.stderr

    # By filter: a question; no (or no answer at all) changes nothing and exits 1
    for answer in ("n\n", ""):
        declined = postbox(local, "dlq", "delete", "-f", f"url={url}", input=answer)
        assert declined.exit_code == ExitCode.REFUSED
        assert f"Delete 3 DLQ entries at {local.url}?" in declined.stderr and "aborted" in declined.stderr
    assert len(as_json(postbox(local, "dlq", "list", "-f", f"url={url}", "--json"))["messages"]) == 3

    # Yes deletes them, in chunks
    agreed = postbox(local, "dlq", "delete", "-f", f"url={url}", "--chunk-size", "2", input="y\n")
    assert agreed.exit_code == 0 and "Deleted 3 of 3 DLQ entries" in agreed.stdout
    assert as_json(postbox(local, "dlq", "list", "-f", f"url={url}", "--json"))["messages"] == []
    nothing = postbox(local, "dlq", "delete", "-f", f"url={url}", "--yes")
    assert nothing.exit_code == 0 and "No DLQ entries match" in nothing.stdout


def test_bulk_shows_a_progress_bar_on_a_terminal_only(local, failing):
    dead_letters(local, failing, 3)
    url = failing.url

    # On a terminal (rich's TTY_COMPATIBLE), the bar is drawn on stderr; stdout keeps the summary
    terminal: Env = {"TTY_COMPATIBLE": "1"}
    shown = postbox(local, "dlq", "delete", "-f", f"url={url}", "--yes", "--chunk-size", "1", env=terminal)
    assert shown.exit_code == 0
    assert "Deleting DLQ entries" in shown.stderr and "3/3" in shown.stderr
    assert "Deleted 3 of 3" in shown.stdout

    # With --json, no bar even on a terminal
    dead_letters(local, failing, 1)
    quiet = postbox(local, "dlq", "delete", "-f", f"url={url}", "--yes", "--json", env=terminal)
    assert json.loads(quiet.stdout) == {"deleted": 1} and "Deleting" not in quiet.stderr


def test_bulk_commands_need_a_selection(local):
    for args in (("retry",), ("delete",), ("retry", "some-id", "--all"), ("delete", "some-id", "-f", "label=x")):
        result = postbox(local, "dlq", *args)
        assert result.exit_code == ExitCode.USAGE, args


# --- logs and keys -------------------------------------------------------------------------------------


def test_logs_list_a_messages_events_with_filters_and_paging(local, httpserver: HTTPServer):
    receiver = Receiver(200)
    httpserver.expect_request("/logged").respond_with_handler(receiver)
    message_id = as_json(postbox(local, "publish", httpserver.url_for("/logged"), "-d", "x", "--json"))["messageId"]

    def states() -> list[str] | None:
        logs = as_json(postbox(local, "logs", "-f", f"messageId={message_id}", "--json"))["logs"]
        found = [event["state"] for event in logs]
        return found if "DELIVERED" in found else None

    assert wait_until(states, what="DELIVERED in the log") == ["DELIVERED", "ACTIVE", "CREATED"]  # newest first

    oldest = as_json(postbox(local, "logs", "-f", f"message={message_id}", "--all", "--oldest-first", "--json"))
    assert [event["state"] for event in oldest["logs"]] == ["CREATED", "ACTIVE", "DELIVERED"]
    delivered = as_json(postbox(local, "logs", "-f", f"messageId={message_id}", "-f", "state=delivered", "--json"))
    assert [event["state"] for event in delivered["logs"]] == ["DELIVERED"]
    page = as_json(postbox(local, "logs", "-f", f"messageId={message_id}", "-n", "1", "--json"))
    assert len(page["logs"]) == 1 and page["cursor"]

    table = postbox(local, "logs", "-f", f"messageId={message_id}")
    assert table.exit_code == 0 and "Event log (3 events)" in table.stdout and "DELIVERED" in table.stdout

    refused = postbox(local, "logs", "-f", "state=SLEEPING")  # the API checks the state
    assert refused.exit_code == ExitCode.REFUSED and "state" in refused.stderr


def test_keys_show_and_rotate_after_asking(local):
    keys = as_json(postbox(local, "keys", "--json"))
    assert keys == local.signing_keys

    table = postbox(local, "keys")
    assert table.exit_code == 0 and keys["current"] in table.stdout and keys["next"] in table.stdout

    declined = postbox(local, "keys", "rotate", input="n\n")
    assert declined.exit_code == ExitCode.REFUSED and as_json(postbox(local, "keys", "--json")) == keys

    rotated = as_json(postbox(local, "keys", "rotate", "--yes", "--json"))
    assert rotated["current"] == keys["next"] and rotated["next"] not in (keys["current"], keys["next"])
    assert as_json(postbox(local, "keys", "--json")) == rotated


# --- where the CLI connects, and what it exits with when that fails --------------------------------------


def test_url_and_token_from_the_environment_and_flags_first(local):
    # The environment alone
    from_env = invoke("keys", "--json", env={"POSTBOX_URL": local.url, "POSTBOX_TOKEN": local.token})
    assert from_env.exit_code == 0, from_env.stderr

    # No token anywhere: local mode's default (which this local mode uses)
    assert local.token == DEFAULT_TOKEN
    assert invoke("keys", "--json", env={"POSTBOX_URL": local.url, "POSTBOX_TOKEN": None}).exit_code == 0

    # A flag wins over the environment
    flag = invoke("--token", local.token, "keys", "--json", env={"POSTBOX_URL": local.url, "POSTBOX_TOKEN": "wrong"})
    assert flag.exit_code == 0
    wrong = invoke("--token", "wrong", "keys", env={"POSTBOX_URL": local.url, "POSTBOX_TOKEN": local.token})
    assert wrong.exit_code == ExitCode.AUTH


def test_the_banners_qstash_variables_are_enough(local):
    from local_mode.__main__ import _banner

    # Given local mode on a port that is not the default one, and what its banner says to export
    assert not local.url.endswith(":8080")
    exported = dict(line.split()[1].split("=", 1) for line in _banner(local).splitlines() if "export " in line)
    qstash: Env = {name: exported[name] for name in ("QSTASH_URL", "QSTASH_TOKEN")}
    assert qstash == {"QSTASH_URL": local.url, "QSTASH_TOKEN": local.token}

    # When the CLI runs with those two set and nothing else
    keys = invoke("keys", "--json", env=qstash)

    # Then it reaches that local mode, with its token
    assert keys.exit_code == 0, keys.stderr
    assert json.loads(keys.stdout) == as_json(postbox(local, "keys", "--json"))

    # QSTASH_TOKEN is the token sent (the read-only one may list the DLQ, not read the keys)
    read_only: Env = {**qstash, "QSTASH_TOKEN": local.backend.read_only_token}
    assert invoke("dlq", "list", "--json", env=read_only).exit_code == 0
    assert invoke("keys", env=read_only).exit_code == ExitCode.AUTH

    # POSTBOX_URL and POSTBOX_TOKEN come first, and a flag before them
    assert invoke("keys", env={**qstash, "POSTBOX_TOKEN": local.backend.read_only_token}).exit_code == ExitCode.AUTH
    elsewhere = invoke("keys", env={**qstash, "POSTBOX_URL": "http://127.0.0.1:9", "POSTBOX_TOKEN": local.token})
    assert elsewhere.exit_code == ExitCode.UNREACHABLE and "127.0.0.1:9" in elsewhere.stderr
    assert invoke("--url", local.url, "keys", env={**qstash, "POSTBOX_URL": "http://127.0.0.1:9"}).exit_code == 0


def test_a_wrong_or_read_only_token_exits_4(local):
    wrong = invoke("--url", local.url, "--token", "not-the-token", "dlq", "list")
    assert wrong.exit_code == int(ExitCode.AUTH) == 4
    assert "(HTTP 401)" in wrong.stderr and wrong.stdout == ""

    read_only = local.backend.read_only_token
    assert invoke("--url", local.url, "--token", read_only, "dlq", "list", "--json").exit_code == 0
    refused = invoke("--url", local.url, "--token", read_only, "keys")
    assert refused.exit_code == ExitCode.AUTH and "(HTTP 403)" in refused.stderr


def test_no_server_exits_6():
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = invoke("--url", f"http://127.0.0.1:{port}", "dlq", "list")

    assert result.exit_code == int(ExitCode.UNREACHABLE) == 6
    assert "cannot reach" in result.stderr and "Connection refused" in result.stderr


@pytest.mark.parametrize(
    ("status", "body", "content_type", "message"),
    [
        (500, '{"error": "internal error"}', "application/json", "internal error (HTTP 500)"),
        (503, '{"error": "the API tokens cannot be read; try again"}', "application/json", "try again (HTTP 503)"),
        (429, '{"error": "rate limit of 2 requests per window exceeded"}', "application/json", "rate limit"),
        (200, "<html>a login page</html>", "text/html", "not JSON"),
    ],
)
def test_server_errors_and_foreign_answers_exit_5(httpserver: HTTPServer, status, body, content_type, message):
    # Given a server answering as a failing (or not a) Postbox would
    httpserver.expect_request("/v2/keys").respond_with_data(body, status=status, content_type=content_type)

    result = invoke("--url", httpserver.url_for(""), "keys")

    assert result.exit_code == int(ExitCode.SERVER) == 5
    assert message in result.stderr and result.stdout == ""


def test_a_slow_server_times_out_with_exit_6(httpserver: HTTPServer):
    def slow(request: Request) -> Response:
        time.sleep(0.8)
        return Response("{}")

    httpserver.expect_request("/v2/keys").respond_with_handler(slow)

    result = invoke("--url", httpserver.url_for(""), "--request-timeout", "0.2", "keys")

    assert result.exit_code == ExitCode.UNREACHABLE and "no answer" in result.stderr
