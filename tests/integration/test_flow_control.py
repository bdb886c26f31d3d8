"""Flow control through the API and the worker, against mock_aws with real receivers."""

import time

from pytest_httpserver import HTTPServer

from tests.helpers import ConcurrencyProbe

FLOW = {"Upstash-Flow-Control-Key": "tenant-1", "Upstash-Flow-Control-Value": "parallelism=2, rate=20, period=1s"}


def test_messages_carry_their_flow_control(postbox):
    _, answer, _ = postbox.api("POST", "/v2/publish/https://example.com/x", headers=FLOW)
    _, message, _ = postbox.api("GET", f"/v2/messages/{answer['messageId']}")
    assert (message["flowControlKey"], message["parallelism"], message["rate"], message["period"]) == (
        "tenant-1",
        2,
        20,
        1,
    )
    _, only, _ = postbox.api(
        "POST",
        "/v2/publish/https://example.com/x",
        headers={"Upstash-Flow-Control-Key": "k2", "Upstash-Flow-Control-Value": "parallelism=1"},
    )
    message = postbox.api("GET", f"/v2/messages/{only['messageId']}")[1]
    assert message["parallelism"] == 1 and message["period"] == 1 and "rate" not in message


def test_parallelism_is_enforced_at_the_receiver(postbox, threaded_httpserver: HTTPServer):
    probe = ConcurrencyProbe()
    threaded_httpserver.expect_request("/fc").respond_with_handler(probe)
    for n in range(8):
        postbox.api("POST", f"/v2/publish/{threaded_httpserver.url_for('/fc')}", body=str(n).encode(), headers=FLOW)
    # a batch of 8 is delivered concurrently by the worker, but only 2 may be in flight: the rest wait (deferred)
    deadline = time.monotonic() + 30
    while len(threaded_httpserver.log) < 8 and time.monotonic() < deadline:
        postbox.drain()
        time.sleep(0.2)
    assert len(threaded_httpserver.log) == 8
    assert probe.peak == 2


def test_flow_control_management(postbox):
    postbox.api("POST", "/v2/publish/https://example.com/x", headers=FLOW)
    code, state, _ = postbox.api("GET", "/v2/flowControl/tenant-1")
    assert code == 200
    assert state == {
        "flowControlKey": "tenant-1",
        "waitListSize": 1,
        "parallelismMax": 2,
        "parallelismCount": 0,
        "rateMax": 20,
        "rateCount": 0,
        "ratePeriod": 1,
        "ratePeriodStart": state["ratePeriodStart"],
        "isPaused": False,
        "isPinnedParallelism": False,
        "isPinnedRate": False,
    }
    assert postbox.api("POST", "/v2/flowControl/tenant-1/pause")[0] == 200
    assert postbox.api("GET", "/v2/flowControl/tenant-1")[1]["isPaused"] is True
    postbox.api("POST", "/v2/flowControl/tenant-1/resume")
    assert postbox.api("POST", "/v2/flowControl/tenant-1/pin?parallelism=7&rate=9&period=3")[0] == 200
    pinned = postbox.api("GET", "/v2/flowControl/tenant-1")[1]
    assert (pinned["parallelismMax"], pinned["rateMax"], pinned["ratePeriod"]) == (7, 9, 3)
    assert pinned["isPinnedParallelism"] and pinned["isPinnedRate"]
    postbox.api("POST", "/v2/flowControl/tenant-1/unpin?parallelism=true&rate=true")
    assert postbox.api("GET", "/v2/flowControl/tenant-1")[1]["isPinnedRate"] is False
    assert postbox.api("POST", "/v2/flowControl/tenant-1/resetRate")[0] == 200
    assert [k["flowControlKey"] for k in postbox.api("GET", "/v2/flowControl")[1]] == ["tenant-1"]
    assert postbox.api("GET", "/v2/flowControl/unknown")[0] == 404
    assert postbox.api("GET", "/v2/globalParallelism")[1] == {"parallelismMax": 0, "parallelismCount": 0}


def test_a_paused_key_holds_its_messages(postbox, httpserver: HTTPServer):
    httpserver.expect_request("/held").respond_with_data("ok")
    postbox.api("POST", f"/v2/publish/{httpserver.url_for('/held')}", headers=FLOW)
    postbox.api("POST", "/v2/flowControl/tenant-1/pause")
    postbox.drain()
    assert httpserver.log == []  # it waits (re-enqueued with a delay), it is not failed
    _, events, _ = postbox.api("GET", "/v2/events?state=FAILED")
    assert events == {"events": []}
