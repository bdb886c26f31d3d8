"""A port local mode cannot bind: one line saying which, and how to choose another, instead of a traceback."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager


class PortBusyError(Exception):
    """A port of 127.0.0.1 that local mode was told to serve on is taken (or not allowed)."""

    def __init__(self, what: str, port: int, flag: str, make_variable: str) -> None:
        super().__init__(
            f"port {port} of 127.0.0.1 ({what}) is in use: choose another with {flag} "
            f"(make dev {make_variable}=...), or 0 for any free port"
        )
        self.port = port


@contextmanager
def binding(what: str, port: int, flag: str, make_variable: str) -> Iterator[None]:
    """Turn the failure to bind `port` into a PortBusyError naming the flag that changes it."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise PortBusyError(what, port, flag, make_variable) from None
        raise
