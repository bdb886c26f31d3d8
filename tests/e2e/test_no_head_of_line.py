"""Local mode delivers several batches at once, as the SQS event source does: destinations that hang hold up only
their own messages, and a message to a healthy destination arrives as soon as it is published."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from local_mode.runtime import LocalMode
from tests.e2e.conftest import wait_until

HANGING = 10
HANG_S = 30.0


class Destinations(ThreadingHTTPServer):
    """`/hang/<n>` answers only after HANG_S (or when released); `/healthy` answers at once."""

    daemon_threads = True

    def __init__(self) -> None:
        self.release = threading.Event()
        self.hanging: set[str] = set()
        self.healthy_at: list[float] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: Destinations

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        arrived = time.monotonic()
        self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path.startswith("/hang/"):
            with self.server.lock:
                self.server.hanging.add(self.path)
            self.server.release.wait(HANG_S)
        else:
            with self.server.lock:
                self.server.healthy_at.append(arrived)
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@pytest.fixture
def destinations() -> Iterator[Destinations]:
    server = Destinations()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()  # the hanging attempts end now, delivered
        server.shutdown()
        server.server_close()


def _publish(local: LocalMode, url: str) -> None:
    answer = requests.post(
        f"{local.url}/v2/publish/{url}",
        headers={"Authorization": f"Bearer {local.token}", "Upstash-Retries": "0"},
        data=b"x",
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def test_a_healthy_destination_is_not_held_up_by_ten_hanging_ones(local: LocalMode, destinations: Destinations):
    # Given ten destinations whose requests are all under way and hang for 30 s
    for n in range(HANGING):
        _publish(local, destinations.url(f"/hang/{n}"))
    wait_until(lambda: len(destinations.hanging) == HANGING, timeout=60, what="ten hanging requests under way")
    # When a message to a healthy destination is published
    published = time.monotonic()
    _publish(local, destinations.url("/healthy"))
    # Then it arrives within half a second of its publish
    wait_until(lambda: destinations.healthy_at, timeout=HANG_S, interval=0.01, what="the healthy delivery")
    assert destinations.healthy_at[0] - published <= 0.5
    assert not destinations.release.is_set()  # while the ten still hang
