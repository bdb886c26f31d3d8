"""FIFO queues: management, order, parallelism and pause, against mock_aws with real receivers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.helpers import ConcurrencyProbe
from tests.integration.conftest import Postbox


def upsert(postbox: Postbox, **body: object) -> tuple[int, Any, dict[str, str]]:
    return postbox.api("POST", "/v2/queues", body=json.dumps(body).encode())


def drain_all(postbox: Postbox, rounds: int = 100) -> None:
    idle = 0
    for _ in range(rounds):
        if postbox.drain():
            idle = 0
        else:
            idle += 1
            if idle == 2:
                return


def test_queue_management(postbox):
    assert upsert(postbox, queueName="jobs", parallelism=2)[0] == 200
    code, queue, _ = postbox.api("GET", "/v2/queues/jobs")
    assert code == 200
    assert {k: queue[k] for k in ("name", "parallelism", "lag", "paused")} == {
        "name": "jobs",
        "parallelism": 2,
        "lag": 0,
        "paused": False,
    }
    assert queue["createdAt"] <= queue["updatedAt"]
    upsert(postbox, queueName="jobs", parallelism=3, paused=True)
    assert postbox.api("GET", "/v2/queues/jobs")[1]["parallelism"] == 3
    assert postbox.api("GET", "/v2/queues/jobs")[1]["paused"] is True
    assert postbox.api("POST", "/v2/queues/jobs/resume")[0] == 200
    assert postbox.api("GET", "/v2/queues/jobs")[1]["paused"] is False
    assert postbox.api("POST", "/v2/queues/jobs/pause")[0] == 200
    assert [q["name"] for q in postbox.api("GET", "/v2/queues")[1]] == ["jobs"]
    assert postbox.api("DELETE", "/v2/queues/jobs")[0] == 200
    assert postbox.api("GET", "/v2/queues")[1] == []
    assert postbox.api("GET", "/v2/queues/jobs")[0] == 404
    assert postbox.api("POST", "/v2/queues/jobs/pause")[0] == 404


@pytest.mark.parametrize("body", [{"queueName": "bad name"}, {"queueName": "q", "parallelism": 0}, {"parallelism": 1}])
def test_bad_queue_upserts_are_400(postbox, body):
    code, answer, _ = upsert(postbox, **body)
    assert code == 400 and set(answer) == {"error"}


def test_a_queue_keeps_order_through_retries(postbox, httpserver: HTTPServer):
    # Given a receiver where message 5 fails twice before succeeding
    seen: list[str] = []
    failures = {"5": 2}

    def receiver(request: Request) -> Response:
        n = request.get_data().decode()
        seen.append(n)
        if failures.get(n, 0) > 0:
            failures[n] -= 1
            return Response("not yet", status=500)
        return Response("ok")

    httpserver.expect_request("/ordered").respond_with_handler(receiver)
    # When 20 messages are enqueued (the queue is created with parallelism 1)
    for n in range(1, 21):
        code, _, _ = postbox.api(
            "POST",
            f"/v2/enqueue/fifo/{httpserver.url_for('/ordered')}",
            body=str(n).encode(),
            headers={"Upstash-Retry-Delay": "0"},
        )
        assert code == 200
    assert postbox.api("GET", "/v2/queues/fifo")[1]["lag"] == 20
    drain_all(postbox)
    # Then they arrive in publish order, the 5th retried in place before the 6th goes
    assert seen == [str(n) for n in range(1, 5)] + ["5", "5", "5"] + [str(n) for n in range(6, 21)]
    assert postbox.api("GET", "/v2/queues/fifo")[1]["lag"] == 0


def test_parallelism_bounds_messages_in_flight(postbox, threaded_httpserver: HTTPServer):
    httpserver = threaded_httpserver
    probe = ConcurrencyProbe()
    httpserver.expect_request("/slow").respond_with_handler(probe)
    upsert(postbox, queueName="wide", parallelism=4)
    for n in range(12):
        postbox.api("POST", f"/v2/enqueue/wide/{httpserver.url_for('/slow')}", body=str(n).encode())
    drain_all(postbox)
    assert len(httpserver.log) == 12
    assert probe.peak == 4  # the worker delivers a batch concurrently, the queue lets 4 go at a time


def test_a_paused_queue_delivers_nothing_and_loses_nothing(postbox, httpserver: HTTPServer):
    httpserver.expect_request("/held").respond_with_data("ok")
    upsert(postbox, queueName="held", paused=True)
    for n in range(3):
        postbox.api("POST", f"/v2/enqueue/held/{httpserver.url_for('/held')}", body=str(n).encode())
    drain_all(postbox)
    assert httpserver.log == [] and postbox.api("GET", "/v2/queues/held")[1]["lag"] == 3
    postbox.api("POST", "/v2/queues/held/resume")
    drain_all(postbox)
    assert [r.get_data() for r, _ in httpserver.log] == [b"0", b"1", b"2"]


def test_cancelling_a_queued_message_frees_its_turn(postbox, httpserver: HTTPServer):
    httpserver.expect_request("/turns").respond_with_data("ok")
    ids = [
        postbox.api("POST", f"/v2/enqueue/turns/{httpserver.url_for('/turns')}", body=str(n).encode())[1]["messageId"]
        for n in range(3)
    ]
    assert postbox.api("DELETE", f"/v2/messages/{ids[1]}")[1] == {"cancelled": 1}
    drain_all(postbox)
    assert [r.get_data() for r, _ in httpserver.log] == [b"0", b"2"]
    _, message, _ = postbox.api("GET", f"/v2/messages/{ids[0]}")
    assert message["queueName"] == "turns"
