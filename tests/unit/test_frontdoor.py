"""Local mode's front door on its own, with a stand-in API handler: what it answers without the handler (bad
framing, size limits, a failing handler, the Swagger UI page) is JSON like the handler's own answers."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local_mode.frontdoor import FrontDoor


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail = False

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        if self.fail:
            raise RuntimeError("secret detail that must not reach the client")
        if event["rawPath"] == "/openapi.json":
            body = json.dumps({"openapi": "3.1.0", "info": {"title": "</script><script>alert(1)</script>"}})
            return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": body}
        return {"statusCode": 404, "headers": {"Content-Type": "application/json"}, "body": '{"error": "no route"}'}


@pytest.fixture
def handler() -> Recorder:
    return Recorder()


@pytest.fixture
def door(handler: Recorder) -> Iterator[FrontDoor]:
    front = FrontDoor(handler, port=0)
    front.start()
    try:
        yield front
    finally:
        front.stop()


def raw_exchange(door: FrontDoor, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; read one answer (the front door closes or keeps the connection, as HTTP says)."""
    host, port = door.server.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=5) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize("length", ["abc", "-5", "1e3"])
def test_a_bad_content_length_is_a_json_400(door: FrontDoor, handler: Recorder, length: str) -> None:
    status, headers, body = raw_exchange(
        door, f"POST /v2/batch HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n[]".encode()
    )
    assert status == 400 and json.loads(body) == {"error": "invalid Content-Length"}
    assert headers["content-type"] == "application/json" and headers["x-request-id"]
    assert handler.events == []


def test_a_body_over_the_limit_is_a_json_413_and_the_connection_is_closed(
    door: FrontDoor, handler: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("local_mode.frontdoor.MAX_REQUEST_BYTES", 10)
    request = b"POST /v2/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n" + b"x" * 11
    status, headers, body = raw_exchange(door, request + b"GET /v2/keys HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 413 and set(json.loads(body)) == {"error"}
    assert headers.get("connection") == "close"
    assert handler.events == []  # the unread body was not taken for a second request


def test_chunked_bodies_are_read(door: FrontDoor, handler: Recorder) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"hello "
        yield b"world"

    requests.post(f"{door.url}/v2/publish/https://example.com/x", data=chunks(), timeout=5)
    import base64

    assert base64.b64decode(handler.events[0]["body"]) == b"hello world"


def test_a_malformed_chunked_body_is_a_json_400(door: FrontDoor, handler: Recorder) -> None:
    request = b"POST /v2/batch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
    status, _, body = raw_exchange(door, request)
    assert status == 400 and json.loads(body) == {"error": "invalid chunked body"}
    assert handler.events == []


def test_any_method_reaches_the_handler(door: FrontDoor, handler: Recorder) -> None:
    # (http.server answers 501 with an HTML page to the methods it has no do_<METHOD> for)
    answer = requests.request("TRACE", f"{door.url}/v2/keys", timeout=5)
    assert answer.status_code == 404 and answer.json() == {"error": "no route"}
    assert handler.events[0]["requestContext"]["http"]["method"] == "TRACE"


def test_an_over_long_request_line_is_a_json_414(door: FrontDoor, handler: Recorder) -> None:
    status, headers, body = raw_exchange(door, b"GET /v2/dlq?x=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 414 and set(json.loads(body)) == {"error"}
    assert headers["content-type"] == "application/json"
    assert handler.events == []


def test_a_failing_handler_is_a_bare_500_without_the_traceback(door: FrontDoor, handler: Recorder) -> None:
    handler.fail = True
    answer = requests.get(f"{door.url}/v2/keys", timeout=5)
    assert answer.status_code == 500 and answer.json() == {"error": "internal error"}
    assert "secret" not in answer.text and "Traceback" not in answer.text
    handler.fail = False
    assert requests.get(f"{door.url}/v2/keys", timeout=5).status_code == 404  # and the door still serves


def test_the_swagger_page_loads_nothing_from_elsewhere(door: FrontDoor, handler: Recorder) -> None:
    answer = requests.get(f"{door.url}/swagger", timeout=5)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert "SwaggerUIBundle" in page and len(page) > 1_000_000  # Swagger UI's script and style are inline
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)\s*=""", page, re.IGNORECASE)
    assert "validatorUrl: null" in page  # no badge fetched from the online validator
    # The document comes from the handler, and cannot close the page's script early
    assert handler.events[0]["rawPath"] == "/openapi.json"
    assert "<\\/script><script>alert(1)<\\/script>" in page
