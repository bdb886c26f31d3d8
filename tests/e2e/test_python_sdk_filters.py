"""The official Python SDK (`qstash`) against local mode: DLQ and log filters, labels, redaction, and a schedule's
flow control, as a QStash user reaches them."""

from __future__ import annotations

import base64
import hashlib
import uuid

from pytest_httpserver import HTTPServer
from qstash import QStash
from qstash.log import LogState

from local_mode.runtime import LocalMode
from tests.e2e.conftest import one_url, wait_until


def client(local: LocalMode) -> QStash:
    return QStash(local.token, base_url=local.url, retry=False)


def redacted(value: bytes) -> str:
    return "REDACTED:" + hashlib.sha256(value).hexdigest()


def test_dlq_and_log_filters_labels_and_redaction(local: LocalMode, httpserver: HTTPServer):
    # Given two messages that fail, each with a label of its own; the second one's body redacted
    httpserver.expect_request("/sdk-fail").respond_with_data("no", status=503)
    sdk = client(local)
    tag = uuid.uuid4().hex[:8]
    first = one_url(sdk.message.publish(url=httpserver.url_for("/sdk-fail"), body="one", retries=0, label=f"{tag}-a"))
    second = one_url(
        sdk.message.publish(
            url=httpserver.url_for("/sdk-fail"),
            body="two",
            retries=0,
            label=f"{tag}-b",
            headers={"Authorization": "Bearer sdk-secret"},
            redact={"body": True, "header": ["Authorization"]},
        )
    )
    wait_until(
        lambda: (
            len(sdk.dlq.list(filter={"url": httpserver.url_for("/sdk-fail"), "response_status": 503}).messages) >= 2
        ),
        timeout=30,
        what="both DLQ entries",
    )
    # Then a filter selects each one, and a filter nothing matches selects nothing
    [entry] = sdk.dlq.list(filter={"label": f"{tag}-b"}).messages
    assert entry.message_id == second.message_id
    assert entry.body == redacted(b"two") and entry.headers == {"Authorization": [redacted(b"Bearer sdk-secret")]}
    assert [m.message_id for m in sdk.dlq.list(filter={"label": f"{tag}-a", "response_status": 503}).messages] == [
        first.message_id
    ]
    assert sdk.dlq.list(filter={"label": f"{tag}-a", "response_status": 999}).messages == []
    # And the log shows the label and the digest, never the body
    logs = sdk.log.list(filter={"message_id": second.message_id, "state": LogState.FAILED}).logs
    assert len(logs) == 1 and logs[0].label == f"{tag}-b"
    assert base64.b64decode(logs[0].body_base64 or "") == redacted(b"two").encode()
    # And the message lookup answers the label
    assert sdk.message.get(first.message_id).label == f"{tag}-a"


def test_a_schedules_flow_control(local: LocalMode):
    sdk = client(local)
    schedule_id = sdk.schedule.create(
        destination="https://example.com/sdk-cron",
        cron="0 0 1 1 *",
        body="s",
        flow_control={"key": "sdk-flow", "parallelism": 10, "rate": 5, "period": "1d"},
    )
    schedule = sdk.schedule.get(schedule_id)
    assert schedule.flow_control is not None
    assert (schedule.flow_control.key, schedule.flow_control.parallelism) == ("sdk-flow", 10)
    assert (schedule.flow_control.rate, schedule.flow_control.period) == (5, 86400)
    assert [s.flow_control and s.flow_control.key for s in sdk.schedule.list() if s.schedule_id == schedule_id] == [
        "sdk-flow"
    ]
    sdk.schedule.delete(schedule_id)
