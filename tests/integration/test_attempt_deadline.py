"""An attempt has a deadline for the whole of it, not for each read: a destination that trickles its answer a
byte at a time is cut off when the attempt's timeout passes, and the connection is not reused."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from functions.delivery.http import HttpSender
from functions.shared.ssrf import AddressPolicy

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\nX-Slow: " + b"x" * 20 + b"\r\n\r\nok"


class Trickler:
    """A destination on 127.0.0.1 that sends its answer one byte every `pauses[i]` seconds on its i-th connection
    (the last pause for the connections after)."""

    def __init__(self, *pauses: float) -> None:
        self.pauses = pauses
        self.connections = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            pause = self.pauses[min(self.connections, len(self.pauses) - 1)]
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn, pause), daemon=True).start()

    def _answer(self, conn: socket.socket, pause: float) -> None:
        with conn:
            _read_request(conn)  # all of it: a socket closed with unread bytes resets the connection
            for byte in ANSWER:
                if self.stopped.is_set():
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(pause)

    def stop(self) -> None:
        self.stopped.set()
        self.server.close()


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
    )
    while len(body) < length:
        body += conn.recv(65536)


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    server = Trickler(0.5, 0)  # the first answer takes ~40 s, a byte every half second; the next ones come at once
    yield server
    server.stop()


def test_a_trickling_answer_is_cut_at_the_attempts_deadline(trickler: Trickler):
    sender = HttpSender(AddressPolicy(allow_loopback=True, loopback_only=True))
    url = f"http://127.0.0.1:{trickler.port}/slow"
    # When an attempt of one second meets an answer that takes 40 s, each byte well within a read timeout
    started = time.monotonic()
    result = sender.send(method="POST", url=url, headers={}, body=b"x", timeout_s=1)
    # Then it is cut off near its deadline: a timeout, not a delivery
    assert not result.succeeded and result.error and result.error.startswith("timeout"), result
    assert time.monotonic() - started < 20  # far from the 40 s the answer takes, however busy the machine
    # And the next attempt gets the whole answer (on a new connection: the cut one was not reused)
    result = sender.send(method="POST", url=url, headers={}, body=b"x", timeout_s=10)
    assert result.succeeded and result.body == b"ok", result
