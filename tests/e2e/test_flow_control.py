"""Flow control across two worker processes, measured at the receiver."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from pytest_httpserver import HTTPServer
from qstash import QStash
from qstash.message import FlowControl
from werkzeug import Request, Response

from tests.e2e.conftest import wait_until


def test_rate_holds_across_two_workers(local, threaded_httpserver: HTTPServer, tmp_path):
    # Given a second worker process next to local mode's worker loop
    log = (tmp_path / "worker.log").open("ab")
    second = subprocess.Popen(
        [sys.executable, "-m", "local_mode", "worker"], env=local.process_env(), stdout=log, stderr=log
    )
    starts: list[float] = []
    lock = threading.Lock()

    def receiver(request: Request) -> Response:
        with lock:
            starts.append(time.monotonic())
        return Response("ok")

    threaded_httpserver.expect_request("/limited").respond_with_handler(receiver)
    try:
        # When 15 messages limited to 5 per second are published at once
        sdk = QStash(local.token, base_url=local.url, retry=False)
        for n in range(15):
            sdk.message.publish(
                url=threaded_httpserver.url_for("/limited"),
                body=str(n),
                flow_control=FlowControl(key="limited", rate=5, period="1s"),
            )
        wait_until(lambda: len(starts) == 15, timeout=60, what="15 deliveries")
    finally:
        second.terminate()
        second.wait(timeout=10)
    # Then no 1-second window saw more than 5 of them start: a rate slot is taken before its request is sent and is
    # free again a period after its answer came back, so the two requests that used one slot reached this handler
    # more than a period apart, whatever the load delayed (2 processes on one machine: one clock)
    ordered = sorted(starts)
    busiest = max(sum(1 for t in ordered if start <= t < start + 1.0) for start in ordered)
    assert busiest <= 5, ordered
    assert ordered[-1] - ordered[0] >= 2.0  # 15 at 5 per second take at least two more seconds after the first 5


def test_the_sdk_flow_control_methods(local):
    sdk = QStash(local.token, base_url=local.url, retry=False)
    sdk.message.publish(
        url="http://127.0.0.1:9/unused",
        body="x",
        delay="1h",
        flow_control=FlowControl(key="sdk-key", parallelism=3, rate=4, period="2s"),
    )
    info = sdk.flow_control.get("sdk-key")
    assert info.key == "sdk-key"
    assert (info.parallelism_max, info.rate_max, info.rate_period) == (3, 4, 2)
    assert info.wait_list_size == 1
    sdk.flow_control.pause("sdk-key")
    assert sdk.flow_control.get("sdk-key").is_paused is True
    sdk.flow_control.resume("sdk-key")
    sdk.flow_control.pin("sdk-key", {"parallelism": 5, "rate": 20, "period": 120})
    pinned = sdk.flow_control.get("sdk-key")
    assert (pinned.parallelism_max, pinned.rate_max, pinned.rate_period) == (5, 20, 120)
    assert pinned.is_pinned_parallelism and pinned.is_pinned_rate
    sdk.flow_control.unpin("sdk-key", {"parallelism": True, "rate": True})
    assert not sdk.flow_control.get("sdk-key").is_pinned_rate
    sdk.flow_control.reset_rate("sdk-key")
    assert sdk.flow_control.get("sdk-key").rate_count == 0
    assert sdk.flow_control.get_global_parallelism().parallelism_count >= 0
