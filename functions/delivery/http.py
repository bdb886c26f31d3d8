"""Calling the destination: one pooled `requests` session per process, no redirects, bounded reads, and only
to addresses the SSRF guard allows (`functions.delivery.connect`)."""

from __future__ import annotations

import time
from collections.abc import Mapping

import requests

from functions.delivery.connect import DestinationRefused, guarded_adapter
from functions.messages.models import AttemptResult
from functions.shared.resources import DELIVERY_BATCH_SIZE
from functions.shared.ssrf import AddressPolicy

MAX_RESPONSE_BODY_BYTES = 64 * 1024


def guarded_session(policy: AddressPolicy) -> requests.Session:
    """A session that connects only where `policy` allows, and ignores proxy settings from the environment (a
    proxy would open the connection instead, past the guard)."""
    session = requests.Session()
    session.trust_env = False
    adapter = guarded_adapter(policy, pool_maxsize=DELIVERY_BATCH_SIZE)  # a batch's attempts may share one host
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class HttpSender:
    def __init__(self, policy: AddressPolicy) -> None:
        self._session = guarded_session(policy)

    def send(
        self, *, method: str, url: str, headers: Mapping[str, str], body: bytes, timeout_s: float
    ) -> AttemptResult:
        started = time.monotonic()
        try:
            with self._session.request(
                method,
                url,
                headers=dict(headers),
                data=body if body else None,
                timeout=timeout_s,
                allow_redirects=False,
                stream=True,
            ) as response:
                content = _read_capped(response, MAX_RESPONSE_BODY_BYTES)
                header: dict[str, list[str]] = {}
                for name, value in response.raw.headers.items():
                    header.setdefault(name, []).append(value)
                return AttemptResult(
                    status=response.status_code, header=header, body=content, latency_ms=_ms_since(started)
                )
        except requests.RequestException as exc:
            return AttemptResult(error=_describe(exc), latency_ms=_ms_since(started))
        except DestinationRefused as exc:
            return AttemptResult(error=str(exc), latency_ms=_ms_since(started))


def _read_capped(response: requests.Response, limit: int) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=16 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _describe(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return f"timeout: {exc}"
    if isinstance(exc, requests.ConnectionError):
        return f"connection error: {exc}"
    return f"request error: {exc}"
