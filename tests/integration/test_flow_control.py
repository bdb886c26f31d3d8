"""Flow control through the API and the worker, against mock_aws with real receivers."""

import time

from pytest_httpserver import HTTPServer

from functions.composition.stores import Stores
from functions.core.models import AttemptResult, DeliveryTask, FlowControl
from functions.delivery.service import DeliveryPolicy, DeliveryService, Outcome
from functions.flow.limiter import FlowLimiter, Slot, Wait
from functions.flow.repository import FlowRepository
from functions.shared.clock import now_ms
from functions.shared.config import get_settings
from tests.fakes import Clock
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


class SlowRoute:
    """A destination each request reaches some time after its worker read the clock (a busy machine, a slow
    network): it records when each request arrives, on the workers' clock."""

    def __init__(self, clock: Clock, delays_s: list[float]) -> None:
        self.clock = clock
        self.delays_s = delays_s
        self.arrivals: list[int] = []

    def send(self, **_: object) -> AttemptResult:
        self.clock.advance(self.delays_s.pop(0))
        self.arrivals.append(self.clock())
        return AttemptResult(status=200, body=b"ok")


def worker(clock: Clock, route: SlowRoute) -> DeliveryService:
    settings = get_settings()
    stores = Stores(settings)
    messages, dlq = stores.messages, stores.dlq
    policy = DeliveryPolicy(
        attempt_timeout_s=5, default_timeout_s=3, claim_margin_s=5, retention_s=60, dlq_retention_s=60
    )
    flows = FlowLimiter(FlowRepository(settings.counters_table))
    return DeliveryService(
        messages, dlq, stores.delivery_queue, route, policy, signing_key=lambda: "k", clock=clock, flows=flows
    )


def test_a_late_request_holds_its_rate_slot_until_it_has_arrived(postbox):
    # Given two workers, a key limited to 1 request per second, and a first request that reaches the destination
    # 0.9 s after its worker read the clock while the second one gets there at once
    headers = {"Upstash-Flow-Control-Key": "late", "Upstash-Flow-Control-Value": "rate=1, period=1s"}
    a, b = (postbox.api("POST", "/v2/publish/https://example.com/x", headers=headers)[1]["messageId"] for _ in "ab")
    clock = Clock(now_ms() + 1000)  # read after both were published (at real times): both are due on it
    route = SlowRoute(clock, [0.9, 0.0])
    first, second = worker(clock, route), worker(clock, route)
    # When the first worker delivers one, and the second worker tries the other from 1.25 s after that clock read
    assert first.process(DeliveryTask(message_id=a, attempt=0)) == Outcome.DELIVERED
    clock.advance(0.35)
    for _ in range(100):
        if second.process(DeliveryTask(message_id=b, attempt=0)) == Outcome.DELIVERED:
            break
        clock.advance(0.05)
    # Then the destination sees the two more than a period apart
    assert len(route.arrivals) == 2
    assert route.arrivals[1] - route.arrivals[0] > 1000, route.arrivals


def test_the_rate_slot_of_a_worker_that_died_frees_itself_a_period_after_its_lease(postbox):
    flows = FlowRepository(get_settings().counters_table)
    limiter, flow, now = FlowLimiter(flows), FlowControl(key="died", rate=1, period_s=2), 1_800_000_000_000
    assert isinstance(limiter.acquire(flow, "m1#0", now, now + 10_000), Slot)  # never released
    assert flows.usage("died", 0, 1, now + 11_000) == (0, [now])
    assert isinstance(limiter.acquire(flow, "m2#0", now + 12_000, now + 22_000), Wait)
    assert isinstance(limiter.acquire(flow, "m2#0", now + 12_001, now + 22_001), Slot)
