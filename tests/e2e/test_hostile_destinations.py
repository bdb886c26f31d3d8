"""Hostile destinations against local mode: an answer with ~480 KB of headers, with a 2xx and with a 5xx, is
recorded (capped), so the message ends delivered once, or in the DLQ after its retries, instead of looping."""

from __future__ import annotations

import time

from pytest_httpserver import HTTPServer
from qstash import QStash
from werkzeug import Request, Response

from functions.core.models import MAX_RESPONSE_HEADER_BYTES
from local_mode.runtime import LocalMode
from tests.e2e.conftest import message_status, one_url, wait_until

BIG_HEADERS = {f"X-Big-{i}": "v" * 60_000 for i in range(8)}  # ~480 KB: more than a DynamoDB item holds


class Counting:
    def __init__(self, status: int) -> None:
        self.status, self.seen = status, 0

    def __call__(self, request: Request) -> Response:
        self.seen += 1
        return Response("answer", status=self.status, headers=BIG_HEADERS)


def test_a_2xx_with_oversized_headers_is_delivered_once(local: LocalMode, httpserver: HTTPServer):
    receiver = Counting(200)
    httpserver.expect_request("/big200").respond_with_handler(receiver)
    client = QStash(local.token, base_url=local.url, retry=False)
    published = one_url(client.message.publish(url=httpserver.url_for("/big200"), body="x", retries=3))
    wait_until(lambda: (s := message_status(published.message_id)) and s.state == "DELIVERED", what="DELIVERED")
    time.sleep(2)  # a record that came back would deliver it again now
    assert receiver.seen == 1


def test_a_5xx_with_oversized_headers_ends_in_the_dlq(local: LocalMode, httpserver: HTTPServer):
    receiver = Counting(500)
    httpserver.expect_request("/big500").respond_with_handler(receiver)
    client = QStash(local.token, base_url=local.url, retry=False)
    published = one_url(client.message.publish(url=httpserver.url_for("/big500"), body="x", retries=1, retry_delay="0"))
    status = wait_until(
        lambda: (s := message_status(published.message_id)) and s.state == "FAILED" and s, timeout=60, what="FAILED"
    )
    assert receiver.seen == 2
    entry = client.dlq.get(status.dlq_id)
    assert entry.response_status == 500
    kept = sum(len(name) + len(value) for name, values in (entry.response_headers or {}).items() for value in values)
    assert 0 < kept <= MAX_RESPONSE_HEADER_BYTES
