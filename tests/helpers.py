"""Receivers for tests that measure what a destination sees."""

from __future__ import annotations

import threading
import time

from werkzeug import Request, Response


class ConcurrencyProbe:
    """A slow destination that records how many requests it serves at once (use with a threaded server)."""

    def __init__(self, seconds: float = 0.2) -> None:
        self.seconds = seconds
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        time.sleep(self.seconds)
        with self._lock:
            self.in_flight -= 1
        return Response("ok")
