"""The SSRF guard end to end: literal addresses refused at publish, names checked when the worker connects.

Names are resolved by a fake `socket.getaddrinfo` (the socket layer, below Postbox and urllib3), so a name can
resolve anywhere without DNS; destinations that must answer are real HTTP servers on 127.0.0.1.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from functions.delivery.http import HttpSender
from functions.shared.ssrf import AddressPolicy
from tests.unit.test_ssrf import REFUSED

Resolver = Callable[[str], list[str]]


@pytest.fixture
def resolve(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Names ending in `.test` resolve to what the test sets in `names` (a list, or a callable per lookup)."""
    real = socket.getaddrinfo
    state: dict[str, Any] = {"names": {}, "lookups": []}

    def fake(host: Any, port: Any, family: int = 0, kind: int = 0, proto: int = 0, flags: int = 0) -> list[Any]:
        if not str(host).endswith(".test"):
            return real(host, port, family, kind, proto, flags)
        state["lookups"].append(host)
        answer = state["names"][host]
        addresses = answer() if callable(answer) else answer
        results: list[Any] = []
        for address in addresses:
            if ":" in address:
                results.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                results.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return results

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    yield state


def send(sender: HttpSender, url: str) -> Any:
    return sender.send(method="POST", url=url, headers={}, body=b"{}", timeout_s=5)


NAMED = [(address, reason) for address, reason in REFUSED if "%" not in address]  # resolvers answer no zones


@pytest.mark.parametrize(("address", "reason"), NAMED)
def test_a_name_resolving_into_any_refused_range_fails_the_attempt(resolve, address, reason):
    resolve["names"]["evil.test"] = [address]
    result = send(HttpSender(AddressPolicy()), "http://evil.test:8080/hook")
    assert result.status is None
    assert result.error == f"destination refused: evil.test resolves to {address} ({reason} address)"


def test_one_refused_answer_among_public_ones_refuses_the_name(resolve):
    resolve["names"]["mixed.test"] = ["93.184.215.14", "10.0.0.1"]
    result = send(HttpSender(AddressPolicy()), "https://mixed.test/hook")
    assert result.error == "destination refused: mixed.test resolves to 10.0.0.1 (private address)"


def test_the_connection_goes_to_the_address_that_was_checked(resolve, httpserver: HTTPServer):
    # A rebinding name: loopback (allowed here) at the check, the metadata service at any later lookup. The
    # request reaches the server, so the connection used the checked answer and did not resolve again.
    answers = iter([["127.0.0.1"]])
    resolve["names"]["rebind.test"] = lambda: next(answers, ["169.254.169.254"])
    httpserver.expect_request("/hook").respond_with_data("ok")
    result = send(HttpSender(AddressPolicy(allow_loopback=True)), f"http://rebind.test:{httpserver.port}/hook")
    assert result.status == 200 and result.body == b"ok"
    assert resolve["lookups"] == ["rebind.test"]


def test_a_redirect_to_a_private_address_is_not_followed(resolve, httpserver: HTTPServer):
    resolve["names"]["internal.test"] = ["10.0.0.5"]
    for target in ("http://169.254.169.254/latest/meta-data/", "http://internal.test/admin"):
        httpserver.expect_oneshot_request("/moved").respond_with_response(
            Response("", status=302, headers={"Location": target})
        )
        result = send(HttpSender(AddressPolicy(allow_loopback=True)), httpserver.url_for("/moved"))
        assert result.status == 302
    assert resolve["lookups"] == []
    assert [request.path for request, _ in httpserver.log] == ["/moved", "/moved"]


def test_proxy_settings_cannot_route_around_the_guard(resolve, httpserver: HTTPServer, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("http_proxy", "http://proxy.test:3128")
    resolve["names"]["proxy.test"] = ["10.9.9.9"]
    httpserver.expect_request("/hook").respond_with_data("direct")
    result = send(HttpSender(AddressPolicy(allow_loopback=True)), httpserver.url_for("/hook"))
    assert result.status == 200 and result.body == b"direct"
    assert resolve["lookups"] == []


def test_the_allowlist_opens_its_range_to_names(resolve, httpserver: HTTPServer):
    # (The allowed range is loopback's, so that nothing leaves this machine; any CIDR works the same way.)
    resolve["names"]["office.test"] = ["127.0.0.1"]
    httpserver.expect_request("/hook").respond_with_data("ok")
    url = f"http://office.test:{httpserver.port}/hook"
    assert send(HttpSender(AddressPolicy()), url).error == (
        "destination refused: office.test resolves to 127.0.0.1 (loopback address)"
    )
    allowed = AddressPolicy.from_settings(["127.0.0.0/30"], allow_loopback=False)
    assert send(HttpSender(allowed), url).status == 200


# --- through the API and the worker -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("destination", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/", "link-local"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "unique-local"),
        ("http://10.0.0.1:8080/x", "private"),
        ("http://192.168.1.1/x", "private"),
        ("http://100.100.100.200/latest/meta-data/", "carrier-grade NAT"),
        ("http://[::ffff:169.254.169.254]/", "link-local, as an IPv6 address"),
        ("http://2852039166/", "link-local"),  # 169.254.169.254 as one number
    ],
)
def test_publishing_to_a_refused_literal_is_400_and_stores_nothing(postbox, destination, reason):
    status, body, _ = postbox.api("POST", f"/v2/publish/{destination}", body=b"x")
    assert status == 400 and body == {
        "error": f"invalid destination {destination!r}: {reason} addresses are not allowed"
    }
    assert boto3.client("dynamodb").scan(TableName=postbox.env["MESSAGES_TABLE"])["Count"] == 0
    assert postbox.receive() == []


def test_callbacks_and_url_groups_are_checked_too(postbox):
    status, body, _ = postbox.api(
        "POST", "/v2/publish/https://example.com/x", headers={"Upstash-Callback": "http://10.0.0.1/cb"}
    )
    assert status == 400 and "private addresses are not allowed" in body["error"]
    status, body, _ = postbox.api(
        "POST", "/v2/topics/ops/endpoints", body=b'{"endpoints": [{"url": "http://169.254.169.254/"}]}'
    )
    assert status == 400 and "link-local addresses are not allowed" in body["error"]


def test_the_allowlist_setting_admits_its_literals(postbox, monkeypatch):
    monkeypatch.setenv("DESTINATION_ALLOW_CIDRS", "10.0.0.0/24")  # (nothing is delivered: no worker runs here)
    from local_mode.runtime import reset_process_caches

    reset_process_caches()
    status, _, _ = postbox.api("POST", "/v2/publish/http://10.0.0.7:9/x", body=b"x")
    assert status == 200
    status, _, _ = postbox.api("POST", "/v2/publish/http://10.0.1.7:9/x", body=b"x")
    assert status == 400


def stored_status(message_id: str) -> Any:
    from functions.composition.stores import Stores
    from functions.shared.config import get_settings

    messages = Stores(get_settings()).messages.store
    message = messages.get(message_id, 0)
    return message.status if message else None


def test_local_mode_does_not_even_resolve_other_names(postbox, resolve):
    resolve["names"]["hooks.test"] = ["127.0.0.1"]
    status, answer, _ = postbox.api(
        "POST", "/v2/publish/http://hooks.test/x", body=b"x", headers={"Upstash-Retries": "0"}
    )
    assert status == 200
    postbox.run_worker(postbox.receive())
    assert stored_status(answer["messageId"]).last_error == (
        "destination refused: hooks.test (local mode delivers only to loopback addresses)"
    )
    assert resolve["lookups"] == []
    status, body, _ = postbox.api("POST", "/v2/publish/http://8.8.8.8/x", body=b"x")
    assert status == 400 and "non-loopback addresses are not allowed" in body["error"]


def test_a_name_resolving_to_the_metadata_service_fails_with_a_clear_last_error(postbox, resolve, monkeypatch):
    monkeypatch.setenv("DESTINATIONS_LOOPBACK_ONLY", "false")  # as deployed
    from local_mode.runtime import reset_process_caches

    reset_process_caches()
    resolve["names"]["hooks.test"] = ["169.254.169.254"]
    status, answer, _ = postbox.api(
        "POST", "/v2/publish/http://hooks.test/latest/meta-data/", body=b"x", headers={"Upstash-Retries": "0"}
    )
    assert status == 200
    postbox.run_worker(postbox.receive())
    status, entries, _ = postbox.api("GET", "/v2/dlq")
    assert status == 200
    [entry] = entries["messages"]
    assert entry["messageId"] == answer["messageId"]
    stored = stored_status(answer["messageId"])
    assert stored.state == "FAILED"
    assert stored.last_error == "destination refused: hooks.test resolves to 169.254.169.254 (link-local address)"
