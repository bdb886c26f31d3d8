"""The official `qstash` SDK against local mode, delivering to real HTTP receivers on 127.0.0.1."""

from __future__ import annotations

import requests
from pytest_httpserver import HTTPServer
from qstash import QStash, Receiver
from werkzeug import Request, Response

from tests.e2e.conftest import message_status, one_url, wait_until


def client(local) -> QStash:
    return QStash(local.token, base_url=local.url, retry=False)


def recorder(status: int, body: str):
    seen: list[tuple[Request, bytes]] = []

    def handler(request: Request) -> Response:
        seen.append((request, request.get_data()))
        return Response(body, status=status)

    return seen, handler


def test_sdk_publish_is_delivered_byte_for_byte(local, httpserver: HTTPServer):
    # Given a receiver answering 200
    seen, handler = recorder(200, "ok")
    httpserver.expect_request("/orders").respond_with_handler(handler)
    url = httpserver.url_for("/orders") + "?tenant=7"
    body = '{"order": 42, "note": "caf\u00e9 \u2615"}'
    # When the official SDK publishes to it
    published = one_url(
        client(local).message.publish(
            url=url,
            body=body.encode(),
            content_type="application/json",
            headers={"X-Tenant": "seven"},
            label="orders",
        )
    )
    # Then it arrives once, byte for byte, with the forwarded header, its id and a valid signature
    wait_until(lambda: seen, what="delivery")
    request, data = seen[0]
    assert data == body.encode()
    assert request.args["tenant"] == "7"
    assert request.headers["X-Tenant"] == "seven"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Upstash-Message-Id"] == published.message_id
    Receiver(local.signing_keys["current"], local.signing_keys["next"]).verify(
        signature=request.headers["Upstash-Signature"], body=data.decode(), url=url
    )
    wait_until(lambda: message_status(published.message_id).state == "DELIVERED", what="DELIVERED")
    assert len(seen) == 1


def test_binary_bodies_are_delivered_untouched(local, httpserver: HTTPServer):
    seen, handler = recorder(200, "ok")
    httpserver.expect_request("/bin").respond_with_handler(handler)
    payload = bytes(range(256)) * 4
    client(local).message.publish(url=httpserver.url_for("/bin"), body=payload, content_type="application/octet-stream")
    wait_until(lambda: seen, what="delivery")
    assert seen[0][1] == payload


def test_message_lookup_while_pending(local, httpserver: HTTPServer):
    # Given a message delayed by a minute
    published = one_url(
        client(local).message.publish(
            url=httpserver.url_for("/later"), body="later", delay=60, retries=2, headers={"X-A": "1"}
        )
    )
    # When the SDK looks it up / Then it answers the seed-000 fields
    message = client(local).message.get(published.message_id)
    assert message.message_id == published.message_id
    assert message.url == httpserver.url_for("/later")
    assert message.method == "POST"
    assert message.body == "later"
    assert message.max_retries == 2
    assert message.headers == {"X-A": ["1"]}
    assert 59_000 <= message.not_before - message.created_at <= 60_000
    assert message_status(published.message_id).state == "CREATED"


def test_spent_retries_end_in_the_dlq(local, httpserver: HTTPServer):
    # Given a receiver that always answers 500
    seen, handler = recorder(500, "receiver exploded")
    httpserver.expect_request("/broken").respond_with_handler(handler)
    # When a message with one retry is published to it
    published = one_url(client(local).message.publish(url=httpserver.url_for("/broken"), body="try me", retries=1))
    # Then it is attempted twice (the retry ~12 s later) and lands in the DLQ with the receiver's answer
    status = wait_until(
        lambda: (s := message_status(published.message_id)) and s.state == "FAILED" and s,
        timeout=40,
        what="FAILED",
    )
    assert [r.headers["Upstash-Retried"] for r, _ in seen] == ["0", "1"]
    entry = client(local).dlq.get(status.dlq_id)
    assert entry.dlq_id == status.dlq_id
    assert entry.message_id == published.message_id
    assert entry.response_status == 500
    assert entry.response_body == "receiver exploded"
    assert entry.body == "try me"


def test_http_errors_are_json(local):
    base = local.url
    auth = {"Authorization": f"Bearer {local.token}"}
    unauthorized = requests.get(f"{base}/v2/messages/x", timeout=5)
    assert unauthorized.status_code == 401 and "error" in unauthorized.json()
    missing = requests.get(f"{base}/v2/dlq/does-not-exist", headers=auth, timeout=5)
    assert missing.status_code == 404 and "error" in missing.json()
    bad = requests.post(f"{base}/v2/publish/not-a-url", headers=auth, data=b"x", timeout=5)
    assert bad.status_code == 400 and "error" in bad.json()


def test_sdk_reads_the_log(local, httpserver: HTTPServer):
    from qstash.log import LogState

    # Given a message published with a retry delay expression and delivered
    seen, handler = recorder(200, "ok")
    httpserver.expect_request("/logged").respond_with_handler(handler)
    sdk = client(local)
    published = one_url(sdk.message.publish(url=httpserver.url_for("/logged"), body="log me", retry_delay="15000"))
    wait_until(lambda: message_status(published.message_id).state == "DELIVERED", what="DELIVERED")
    # When the SDK lists its DELIVERED log entries / Then there is exactly one, with the expression
    logs = sdk.log.list(filter={"message_id": published.message_id, "state": LogState.DELIVERED}).logs
    assert len(logs) == 1
    assert logs[0].retry_delay_expression == "15000"
    assert logs[0].url == httpserver.url_for("/logged") and logs[0].response_status == 200
    every = sdk.log.list(filter={"message_id": published.message_id}).logs
    assert [entry.state.value for entry in every] == ["DELIVERED", "ACTIVE", "CREATED"]
