"""Property: whatever the destination answers, the /v1 status, attempt_count and the event log agree."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from functions.composition.stores import Stores
from functions.core.models import DeliveryTask
from functions.delivery.http import HttpSender
from functions.delivery.service import DeliveryPolicy, DeliveryService
from functions.messages.publish import PublishLimits
from functions.messages.service import MessageService, PublishInput
from functions.messages.views import v1_message_view
from functions.shared.config import get_settings
from functions.shared.ssrf import AddressPolicy
from tests.fakes import FakeQueue

LOCAL = AddressPolicy(allow_loopback=True)

STATUSES = st.sampled_from([200, 204, 400, 429, 489, 500, 503])


def expected_run(statuses: list[int], retries: int) -> tuple[list[str], str, int]:
    """The log, /v1 status and attempt count the lifecycle rules give for these answers."""
    log = ["CREATED"]
    for attempt, status in enumerate(statuses):
        log.append("ACTIVE")
        if 200 <= status < 300:
            return [*log, "DELIVERED"], "succeeded", attempt + 1
        if status == 489 or attempt >= retries:
            return [*log, "FAILED"], "failed_permanent", attempt + 1
        log.append("RETRY")
    raise AssertionError("the answers ran out before the message finished")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(statuses=st.lists(STATUSES, min_size=6, max_size=6), retries=st.integers(min_value=0, max_value=4))
def test_v1_status_attempts_and_log_agree(postbox, httpserver: HTTPServer, statuses, retries):
    # Given a destination answering `statuses` in turn
    remaining = list(statuses)

    def destination(request: Request) -> Response:
        status = remaining.pop(0)
        headers = {"Upstash-NonRetryable-Error": "true"} if status == 489 else {"Retry-After": "0"}
        return Response("answer", status=status, headers=headers)

    httpserver.clear()
    httpserver.expect_request("/p").respond_with_handler(destination)
    settings_ = get_settings()
    stores = Stores(settings_)
    messages, dlq = stores.messages, stores.dlq
    queue = FakeQueue()
    limits = PublishLimits(default_retries=3, max_retries=10, max_body_bytes=1024, addresses=LOCAL)
    publisher = MessageService(messages, dlq, queue, limits, retention_s=3600)
    worker = DeliveryService(
        messages,
        dlq,
        queue,
        HttpSender(LOCAL),
        DeliveryPolicy(
            attempt_timeout_s=5, default_timeout_s=5, claim_margin_s=1, retention_s=3600, dlq_retention_s=3600
        ),
        signing_key=lambda: "sig_test",
    )
    # When a message with `retries` retries is published and every record it produces is processed
    [published] = publisher.publish(
        PublishInput(httpserver.url_for("/p"), "", {"upstash-retries": str(retries)}, b"body", "127.0.0.1")
    ).published
    while queue.sent:
        task, _ = queue.sent.pop(0)
        assert isinstance(task, DeliveryTask)
        worker.process(task)
    # Then the log, the /v1 status and the attempt count are what the rules say
    log, status, attempts = expected_run(statuses, retries)
    events = stores.events.for_message(published.message_id, now_ms=0)
    assert [e.state.value for e in events] == log
    message = messages.store.get(published.message_id, 0)
    assert message is not None
    view = v1_message_view(message, project_id="p", request_id="r").data
    assert (view.status, view.attempt_count) == (status, attempts)
    assert view.response_status == statuses[attempts - 1]
    assert sum(e.state == "ACTIVE" for e in events) == attempts
