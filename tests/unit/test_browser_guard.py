"""Local mode refuses what a web page could make a browser send it: the front door and the moto server, with
requests as browsers send them (a "simple" cross-site POST, a DNS-rebinding Host, a preflight)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from local_mode.browser_guard import BrowserGuard
from local_mode.frontdoor import FrontDoor
from tests.unit.test_frontdoor import Recorder, raw_exchange


@pytest.fixture
def door() -> Iterator[tuple[FrontDoor, Recorder]]:
    handler = Recorder()
    front = FrontDoor(handler, port=0, allowed_origins=["http://localhost:3000"])
    front.start()
    try:
        yield front, handler
    finally:
        front.stop()


def post(front: FrontDoor, path: str, headers: dict[str, str]) -> requests.Response:
    return requests.post(
        front.url + path, data='[{"destination":"http://127.0.0.1:2375/containers"}]', headers=headers, timeout=5
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example", "Content-Type": "text/plain"},  # a page's simple cross-site POST
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:5173"},  # another port of this machine
        {"Origin": "null"},  # a sandboxed frame, a file:// page
        {"Host": "rebound.evil.example:8080"},  # DNS rebinding: the page's own name resolving to 127.0.0.1
    ],
)
def test_what_a_browser_sends_for_a_page_is_refused(door, headers):
    front, handler = door
    answer = post(front, "/v2/batch", headers)
    assert answer.status_code == 403 and set(answer.json()) == {"error"}
    assert handler.events == []  # the API never saw it


def test_the_query_token_is_taken_on_get_only(door):
    front, handler = door
    answer = post(
        front, "/v2/batch?qstash_token=eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0=", {}
    )
    assert answer.status_code == 401 and "GET requests only" in answer.json()["error"]
    assert requests.get(front.url + "/v2/dlq?qstash_token=x", timeout=5).status_code == 404  # reached the API
    assert len(handler.events) == 1


def test_clients_that_are_not_browsers_and_allowed_origins_pass(door):
    front, handler = door
    port = front.server.server_address[1]
    for headers in (
        {},  # the SDKs, the CLI, curl
        {"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"},  # the console, on this origin
        {"Origin": "http://localhost:3000", "Sec-Fetch-Site": "same-site"},  # allowed by POSTBOX_ALLOWED_ORIGINS
        {"Host": f"localhost:{port}"},
    ):
        assert post(front, "/v2/batch", headers).status_code == 404, headers  # the stand-in API's answer
    assert len(handler.events) == 4


def test_the_swagger_page_has_the_consoles_protections_and_keeps_no_token(door):
    front, _ = door
    answer = requests.get(front.url + "/swagger", timeout=5)
    policy = answer.headers["Content-Security-Policy"]
    [nonce] = {part.split("'nonce-")[1].rstrip("'") for part in policy.split(";") if "nonce-" in part}
    assert "frame-ancestors 'none'" in policy and "script-src 'nonce-" in policy
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.text.count(f'<script nonce="{nonce}">') == 2  # its two scripts, allowed by this answer's nonce
    assert "persistAuthorization: false" in answer.text
    assert nonce not in requests.get(front.url + "/swagger", timeout=5).headers["Content-Security-Policy"]


def test_framing_two_ways_or_with_conflicting_lengths_is_refused(door):
    front, handler = door
    for framing in (
        b"Transfer-Encoding: xchunked\r\nContent-Length: 2\r\n",
        b"Transfer-Encoding: chunked\r\nContent-Length: 2\r\n",
        b"Content-Length: 2\r\nContent-Length: 3\r\n",
        b"Transfer-Encoding: xchunked\r\n",
    ):
        status, _, _ = raw_exchange(front, b"POST /v2/batch HTTP/1.1\r\nHost: 127.0.0.1\r\n" + framing + b"\r\nab")
        assert status == 400, framing
    assert handler.events == []


def test_the_guard_on_its_own():
    guard = BrowserGuard.of(8080)
    assert guard.refusal("GET", "/", {"host": "127.0.0.1:8080"}) is None
    assert guard.refusal("GET", "/", {"host": "[::1]:8080"}) is None
    assert guard.refusal("GET", "/", {"host": "127.0.0.1:9999"}) is not None  # another server's port: rebinding
    assert guard.refusal("POST", "/x?qstash_token=t", {}) is not None
    assert BrowserGuard(8080, query_token=None).refusal("POST", "/x?qstash_token=t", {}) is None
