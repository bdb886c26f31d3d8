"""Schemathesis against local mode: every operation of the API's OpenAPI document, with the local token, with
its read-only token and without one, with valid and invalid input. No answer may be a 5xx, and every answer's
status, content type, body and headers must be the ones the document gives.

`make test` runs a few examples per operation; `make fuzz` (POSTBOX_FUZZ_EXAMPLES) runs many more. The fuzzed
local mode runs no worker, so what fuzzing publishes is stored and never delivered, and a socket guard refuses (and
the last test reports) any connection or name lookup that is not loopback: no traffic leaves 127.0.0.1.
"""

from __future__ import annotations

import _socket
import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.generation import GenerationMode

from functions.api.openapi import build_document
from functions.shared.config import Settings
from local_mode.backend import function_env
from local_mode.runtime import LocalMode

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("POSTBOX_FUZZ_EXAMPLES", "8"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
]


class NetworkGuard:
    """Refuses, and remembers, every connection and name lookup of this process that is not loopback."""

    def __init__(self) -> None:
        self.refused: list[str] = []
        self._connect = socket.socket.connect
        self._connect_ex = socket.socket.connect_ex
        self._getaddrinfo = socket.getaddrinfo

    @staticmethod
    def is_loopback(host: Any) -> bool:
        if host is None or host in ("localhost", b"localhost"):
            return True
        text = host.decode() if isinstance(host, bytes) else str(host)
        try:
            return ipaddress.ip_address(text.strip("[]").split("%")[0]).is_loopback
        except ValueError:
            return False

    def install(self) -> None:
        guard = self

        def connect(sock: _socket.socket, address: Any) -> None:
            guard.check(sock, address)
            guard._connect(sock, address)

        def connect_ex(sock: _socket.socket, address: Any) -> int:
            guard.check(sock, address)
            return guard._connect_ex(sock, address)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if not guard.is_loopback(host):
                guard.refused.append(f"name lookup of {host!r}")
                raise socket.gaierror(socket.EAI_NONAME, "fuzz network guard: not a loopback name")
            return guard._getaddrinfo(host, *args, **kwargs)

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo

    def check(self, sock: _socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not self.is_loopback(address[0]):
            self.refused.append(f"connection to {address!r}")
            raise ConnectionRefusedError(f"fuzz network guard: {address!r} is not loopback")

    def uninstall(self) -> None:
        socket.socket.connect = self._connect  # type: ignore[method-assign]
        socket.socket.connect_ex = self._connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = self._getaddrinfo


@pytest.fixture(scope="module")
def network_guard() -> Iterator[NetworkGuard]:
    guard = NetworkGuard()
    guard.install()
    try:
        yield guard
    finally:
        guard.uninstall()


@pytest.fixture(scope="module")
def fuzzed(network_guard: NetworkGuard) -> Iterator[LocalMode]:
    # No worker: what fuzzing publishes (to any URL it makes up) is stored and never delivered.
    mode = LocalMode(port=0, moto_port=0, worker=False).start()
    try:
        yield mode
    finally:
        mode.stop()


def _settings() -> Settings:
    """The settings local mode's API runs with (the document's limits come from them)."""
    return Settings.model_validate({**function_env(None), "DELIVERY_QUEUE_URL": "http://127.0.0.1:1/queue"})


# The document is built here, not fetched: schemathesis parametrizes at collection, before local mode runs
# (its fixture-based loader does not run on pytest 9). `test_the_fuzzed_document_is_the_one_served` ties the two.
DOCUMENT = build_document(_settings())


def _schema(*, with_token: bool) -> Any:
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES,
        with_security_parameters=not with_token,  # without the token: made-up Bearer and qstash_token values
        database="none",
    )
    rejection = schema.config.checks.negative_data_rejection
    # Invalid input may also be refused for its size: a body (413), a request line (414), headers (431).
    rejection.expected_statuses = [*rejection.expected_statuses, "413", "414", "431"]
    return schema


# A request too large to read (its body, its request line, its headers) is refused before its token is checked,
# as API Gateway does.
TOO_LARGE = (413, 414, 431)
authed = _schema(with_token=True)
anonymous = _schema(with_token=False)
FUZZ_SETTINGS = settings(deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)


@authed.parametrize()
@FUZZ_SETTINGS
def test_api_with_the_token(case: Any, fuzzed: LocalMode) -> None:
    case.call_and_validate(
        base_url=fuzzed.url, headers={"Authorization": f"Bearer {fuzzed.token}"}, checks=CHECKS, timeout=30
    )


@anonymous.parametrize()
@settings(FUZZ_SETTINGS, max_examples=max(2, EXAMPLES // 4))
def test_api_without_the_token(case: Any, fuzzed: LocalMode) -> None:
    response = case.call_and_validate(base_url=fuzzed.url, checks=CHECKS, timeout=30)
    if (case.method, case.path) != ("GET", "/openapi.json"):
        assert response.status_code in (401, 429, *TOO_LARGE), response.text


@authed.parametrize()
@settings(FUZZ_SETTINGS, max_examples=max(2, EXAMPLES // 4))
def test_api_with_the_read_only_token(case: Any, fuzzed: LocalMode) -> None:
    headers = {"Authorization": f"Bearer {fuzzed.read_only_token}"}
    response = case.call_and_validate(base_url=fuzzed.url, headers=headers, checks=CHECKS, timeout=30)
    if case.method != "GET" or case.path == "/v2/keys":
        assert response.status_code in (403, 429, *TOO_LARGE), response.text


def test_the_fuzzed_document_is_the_one_served(fuzzed: LocalMode) -> None:
    assert requests.get(f"{fuzzed.url}/openapi.json", timeout=10).json() == DOCUMENT


def test_openapi_document_is_public(fuzzed: LocalMode) -> None:
    answer = requests.get(f"{fuzzed.url}/openapi.json", timeout=10)
    assert answer.status_code == 200
    assert answer.json()["openapi"].startswith("3.1")


def test_the_guard_refuses_what_is_not_loopback(network_guard: NetworkGuard) -> None:
    inner = NetworkGuard()  # over the module's guard, which sees nothing of what this one refuses
    inner.install()
    try:
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("example.com", 80)
        with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
            sock.connect(("192.0.2.1", 80))
        assert socket.getaddrinfo("localhost", 80)
    finally:
        inner.uninstall()
    assert inner.refused == ["name lookup of 'example.com'", "connection to ('192.0.2.1', 80)"]


def test_no_traffic_left_loopback(fuzzed: LocalMode, network_guard: NetworkGuard) -> None:
    # Runs after the fuzz tests of this module (pytest keeps the file's order)
    assert network_guard.refused == []
