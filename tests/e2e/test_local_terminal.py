"""`python -m local_mode dev` as a process, its output piped: one line per event by default, the handlers'
JSON lines with `--log-format json`."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from pytest_httpserver import HTTPServer

from local_mode.backend import DEFAULT_TOKEN

ROOT = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


class Output:
    """The process's output lines, read as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def wait_for(self, matches: Callable[[str], object], timeout: float = 60) -> str:
        for line in self.seen:
            if matches(line):
                return line
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                read = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if read is None:
                break
            self.seen.append(read)
            if matches(read):
                return read
        raise AssertionError("no such line in the output:\n" + "\n".join(self.seen))


@contextmanager
def local_mode(*args: str) -> Iterator[tuple[str, Output]]:
    """Local mode on a free port, its output piped, as a developer's terminal would not be."""
    dropped = ("POSTBOX_TOKEN", "POSTBOX_LOG_FORMAT", "FORCE_COLOR", "NO_COLOR")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    process = subprocess.Popen(
        [sys.executable, "-m", "local_mode", "dev", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        output = Output(process)
        url = output.wait_for(lambda line: "Base URL" in line).split()[-1]
        yield url, output
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0


def publish(base: str, destination: str, **headers: str) -> str:
    answer = requests.post(f"{base}/v2/publish/{destination}", data=b"hi", headers={**AUTH, **headers}, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["messageId"])


def test_dev_prints_one_line_per_event(httpserver: HTTPServer):
    # Given local mode's terminal and a receiver answering 200
    httpserver.expect_request("/hook").respond_with_data("ok", status=200)
    destination = httpserver.url_for("/hook")
    with local_mode() as (base, output):
        # When a message is published and delivered, and another, delayed, is published and cancelled
        delivered_id = publish(base, destination)
        delayed_id = publish(base, destination, **{"Upstash-Delay": "1h"})
        assert requests.delete(f"{base}/v2/messages/{delayed_id}", headers=AUTH, timeout=30).status_code == 200

        # Then each shows as one line of its own, after the time of day
        stamp = r"^\d\d:\d\d:\d\d\.\d{3} "
        output.wait_for(lambda line: re.match(rf"{stamp}published +{delivered_id} -> {re.escape(destination)}$", line))
        output.wait_for(
            lambda line: re.match(rf"{stamp}delivered +{delivered_id} {re.escape(destination)} 200 in \d+ ms$", line)
        )
        output.wait_for(lambda line: re.match(rf"{stamp}cancelled +{delayed_id}$", line))
    # And no JSON log line was printed
    assert not [line for line in output.seen if line.startswith("{")]


def test_dev_with_log_format_json_prints_the_json_lines(httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("ok", status=200)
    destination = httpserver.url_for("/hook")
    with local_mode("--log-format", "json") as (base, output):
        message_id = publish(base, destination)

        def logged(message: str) -> Callable[[str], object]:
            return lambda line: line.startswith("{") and json.loads(line)["message"] == message

        published = json.loads(output.wait_for(logged("message published")))
        delivered = json.loads(output.wait_for(logged("delivered")))

    assert published["message_id"] == message_id and published["url"] == destination
    assert published["service"] == "postbox" and "function_request_id" in published
    assert delivered["message_id"] == message_id and delivered["url"] == destination
    assert delivered["status"] == 200 and isinstance(delivered["latency_ms"], int)
