"""The SSRF guard's transport: a urllib3 pool manager whose connections resolve the destination's host, check
every address it resolves to against the policy, and connect to an address that was checked.

The check sits where the socket is opened, not before the request, so a name whose DNS answer changes between
a check and the connect (DNS rebinding) gains nothing; TLS still verifies the certificate against the name. No
proxies from the environment (they would open the connection instead), and redirects are never followed (the
sender asks for none).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

import certifi
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from functions.shared.ssrf import AddressPolicy, literal_address


class DestinationRefused(Exception):  # noqa: N818 - reads as what happened: "destination refused: ..."
    """The destination's host is, or resolves to, an address the policy refuses."""


def checked_addresses(host: str, port: int, policy: AddressPolicy) -> list[tuple[Any, ...]]:
    """`getaddrinfo` answers for host:port, all of them allowed by the policy, else DestinationRefused."""
    if literal_address(host) is None and not policy.resolves(host):
        raise DestinationRefused(f"destination refused: {host} (local mode delivers only to loopback addresses)")
    answers = socket.getaddrinfo(host.strip("[]"), port, 0, socket.SOCK_STREAM)
    for *_, sockaddr in answers:
        address = str(sockaddr[0])
        reason = policy.refusal(address)
        if reason:
            shown = f"{host} resolves to {address}" if address != host.strip("[]") else host
            raise DestinationRefused(f"destination refused: {shown} ({reason} address)")
    return answers


def _connect(connection: HTTPConnection, policy: AddressPolicy) -> socket.socket:
    """What urllib3's `create_connection` does, over the checked answers only."""
    try:
        answers = checked_addresses(connection._dns_host, connection.port or 80, policy)  # noqa: SLF001
    except socket.gaierror as exc:
        raise NameResolutionError(connection.host, connection, exc) from exc
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in answers:
        sock = socket.socket(family, kind, proto)
        try:
            for option in connection.socket_options or ():
                sock.setsockopt(*option)
            if isinstance(connection.timeout, int | float):
                sock.settimeout(connection.timeout)
            if connection.source_address:
                sock.bind(connection.source_address)
            sock.connect(sockaddr)
            return sock
        except TimeoutError as exc:
            sock.close()
            raise ConnectTimeoutError(
                connection, f"Connection to {connection.host} timed out. (connect timeout={connection.timeout})"
            ) from exc
        except OSError as exc:
            sock.close()
            error = exc
    raise NewConnectionError(connection, f"Failed to establish a new connection: {error}")


class Deadline:
    """The whole of an attempt (connect, send, headers, body) must end by a deadline: a socket timeout bounds each
    read only, and a destination that trickles a byte at a time would hold the attempt, and the worker, for ever.
    When the deadline passes, the sockets of the attempt's connections are shut down, which ends any read blocked
    on them (TLS included)."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._connections: list[Any] = []
        self.expired = self._stopped = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        _attempt.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        _attempt.deadline = None

    def stop(self) -> bool:
        """Stop watching (before a connection goes back to its pool, where another attempt may take it); whether the
        deadline had passed."""
        with self._lock:
            self._stopped = True
            self._connections.clear()
        self._timer.cancel()
        return self.expired

    def watch(self, connection: Any) -> None:
        with self._lock:
            if self._stopped:
                return
            self._connections.append(connection)
            if self.expired:
                _shut(connection)

    def _expire(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self.expired = True
            for connection in self._connections:
                _shut(connection)


_attempt = threading.local()  # the Deadline of the attempt this thread is making


def watch(connection: Any) -> None:
    """Put a connection the current attempt uses under its deadline (a pool's `_make_request` calls this)."""
    deadline: Deadline | None = getattr(_attempt, "deadline", None)
    if deadline is not None:
        deadline.watch(connection)


def _shut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def guarded_pool_manager(policy: AddressPolicy, maxsize: int = 10) -> PoolManager:
    """A pool of connections per destination host (up to `maxsize` each) that only connect where `policy` allows,
    verifying certificates against certifi's CA bundle. urllib3 reads no proxy settings from the environment."""

    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _connect(self, policy)

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _connect(self, policy)

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

        def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
            watch(conn)
            return super()._make_request(conn, *args, **kwargs)

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

        def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
            watch(conn)
            return super()._make_request(conn, *args, **kwargs)

    manager = PoolManager(maxsize=maxsize, retries=False, cert_reqs="CERT_REQUIRED", ca_certs=certifi.where())
    manager.pool_classes_by_scheme = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}
    return manager
