"""Calling the destination: one pool of connections per destination host and process, no redirects, bounded
reads, and only to addresses the SSRF guard allows (`functions.delivery.connect`).

urllib3 directly, not `requests` on top of it: botocore has already loaded urllib3, and `requests` would add about
50 ms to every cold start of the worker for nothing it needs here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from urllib3 import BaseHTTPResponse, Timeout, exceptions

from functions.core.models import MAX_RESPONSE_BODY_BYTES, AttemptResult
from functions.delivery.connect import Deadline, DestinationRefused, guarded_pool_manager
from functions.shared.resources import DELIVERY_BATCH_SIZE
from functions.shared.ssrf import AddressPolicy


class HttpSender:
    def __init__(self, policy: AddressPolicy) -> None:
        self._pools = guarded_pool_manager(policy, maxsize=DELIVERY_BATCH_SIZE)  # a batch may share one host

    def send(
        self, *, method: str, url: str, headers: Mapping[str, str], body: bytes, timeout_s: float
    ) -> AttemptResult:
        started = time.monotonic()
        with Deadline(timeout_s) as deadline:
            result = self._send(method, url, headers, body, timeout_s, deadline)
        if deadline.expired:  # whatever the cut-off read gave or raised, the attempt ran out of time
            return AttemptResult(
                error=f"timeout: no whole answer within {timeout_s:g} s", latency_ms=_ms_since(started)
            )
        return result.model_copy(update={"latency_ms": _ms_since(started)})

    def _send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes, timeout_s: float, deadline: Deadline
    ) -> AttemptResult:
        try:
            response = self._pools.request(
                method,
                url,
                body=body or None,
                headers=dict(headers),
                timeout=Timeout(connect=timeout_s, read=timeout_s),
                redirect=False,
                retries=False,
                preload_content=False,
            )
            whole = False
            try:
                content, whole = _read_capped(response, MAX_RESPONSE_BODY_BYTES)
            finally:
                # The rest of the answer is not read, or the deadline cut it: the connection cannot carry another
                # request. The deadline stops watching it before it goes back to the pool.
                if deadline.stop() or not whole:
                    response.close()
                response.release_conn()
            header: dict[str, list[str]] = {}
            for name, value in response.headers.items():
                header.setdefault(name, []).append(value)
            return AttemptResult(status=response.status, header=header, body=content).capped()
        except exceptions.HTTPError as exc:
            return AttemptResult(error=_describe(exc)).capped()
        except DestinationRefused as exc:
            return AttemptResult(error=str(exc)).capped()


def _read_capped(response: BaseHTTPResponse, limit: int) -> tuple[bytes, bool]:
    """Up to `limit` bytes of the answer's body, and whether that was all of it."""
    chunks, size = [], 0
    for chunk in response.stream(16 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            return b"".join(chunks)[:limit], False
    return b"".join(chunks), True


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _describe(exc: exceptions.HTTPError) -> str:
    if isinstance(exc, exceptions.NewConnectionError):  # urllib3 files it under connect timeouts, for history's sake
        return f"connection error: {getattr(exc, '_message', exc)}"  # the message without the connection's repr
    if isinstance(exc, exceptions.TimeoutError):
        return f"timeout: {exc}"
    if isinstance(exc, exceptions.ProtocolError | exceptions.SSLError):
        return f"connection error: {exc}"
    return f"request error: {exc}"
