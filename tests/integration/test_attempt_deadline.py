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
    """A destination on 127.0.0.1 that sends its answer one byte every `pause` seconds, on each connection."""

    def __init__(self, pause: float) -> None:
        self.pause = pause
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
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            for byte in ANSWER:
                if self.stopped.is_set():
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(self.pause)

    def stop(self) -> None:
        self.stopped.set()
        self.server.close()


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    server = Trickler(pause=0.02)  # the whole answer takes ~1.7 s; each byte comes well within a read timeout
    yield server
    server.stop()


def test_a_trickling_answer_is_cut_at_the_attempts_deadline(trickler: Trickler):
    sender = HttpSender(AddressPolicy(allow_loopback=True, loopback_only=True))
    url = f"http://127.0.0.1:{trickler.port}/slow"
    # When an attempt of half a second meets an answer that takes 1.7 s, each byte well within a read timeout
    result = sender.send(method="POST", url=url, headers={}, body=b"x", timeout_s=0.5)
    # Then it is cut off: a timeout, not a delivery
    assert not result.succeeded and result.error and result.error.startswith("timeout"), result
    # And the next attempt, with time enough, gets the whole answer (the cut connection was not reused)
    result = sender.send(method="POST", url=url, headers={}, body=b"x", timeout_s=10)
    assert result.succeeded and result.body == b"ok", result
