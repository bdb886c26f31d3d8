"""Worker handler: real SQS event batches from moto, real HTTP destinations on 127.0.0.1."""

from __future__ import annotations

import logging

import boto3
from pytest_httpserver import HTTPServer
from qstash import Receiver
from werkzeug import Request, Response

from functions.core.models import MessageStatus
from functions.shared.observability import logger
from local_mode.backend import DEFAULT_SIGNING_KEYS
from tests.integration.conftest import Postbox


def publish(postbox: Postbox, url: str, headers: dict[str, str] | None = None, body: bytes = b"payload") -> str:
    status, answer, _ = postbox.api("POST", f"/v2/publish/{url}", body=body, headers=headers or {})
    assert status == 200, answer
    return str(answer["messageId"])


def state_of(postbox: Postbox, message_id: str) -> MessageStatus:
    from functions.composition.stores import Stores
    from functions.shared.config import get_settings

    messages = Stores(get_settings()).messages.store
    message = messages.get(message_id, 0)
    assert message is not None
    return message.status


def test_delivery_reaches_the_destination_signed_and_is_recorded(postbox, httpserver: HTTPServer):
    # Given a destination answering 200 and a published message
    httpserver.expect_oneshot_request("/hook", method="PUT").respond_with_data("thanks")
    url = httpserver.url_for("/hook")
    message_id = publish(
        postbox, url, {"Upstash-Method": "PUT", "Upstash-Forward-X-Trace": "t-1", "Content-Type": "text/plain"}
    )
    # When the worker handles the queue's batch
    response = postbox.run_worker(postbox.receive())
    # Then the destination got the body, forwarded headers and a signature the official receiver accepts
    assert response == {"batchItemFailures": []}
    httpserver.check_assertions()
    request, _ = httpserver.log[0]
    assert request.get_data() == b"payload"
    assert request.headers["X-Trace"] == "t-1"
    assert request.headers["Content-Type"] == "text/plain"
    assert request.headers["Upstash-Message-Id"] == message_id
    assert request.headers["Upstash-Retried"] == "0"
    Receiver(DEFAULT_SIGNING_KEYS["current"], DEFAULT_SIGNING_KEYS["next"]).verify(
        signature=request.headers["Upstash-Signature"], body="payload", url=url
    )
    status = state_of(postbox, message_id)
    assert status.state == "DELIVERED" and status.last_response_status == 200


def test_a_redelivered_record_does_not_deliver_twice(postbox, httpserver: HTTPServer):
    httpserver.expect_request("/hook").respond_with_data("ok")
    publish(postbox, httpserver.url_for("/hook"))
    records = postbox.receive()
    postbox.run_worker(records)
    # When SQS hands the same record out again (visibility timeout, second worker) / Then nothing is sent
    assert postbox.run_worker(records) == {"batchItemFailures": []}
    assert len(httpserver.log) == 1


def test_spent_retries_land_in_the_dlq_with_the_last_response(postbox, httpserver: HTTPServer):
    # Given a destination that fails and a message with no retries
    httpserver.expect_request("/fail").respond_with_response(
        Response("it broke", status=500, headers={"X-Reason": "db down"})
    )
    message_id = publish(postbox, httpserver.url_for("/fail"), {"Upstash-Retries": "0"})
    # When the worker tries it
    assert postbox.drain() == 1
    # Then the message is FAILED and its DLQ entry answers seed 001/002's fields
    status = state_of(postbox, message_id)
    assert status.state == "FAILED"
    code, entry, _ = postbox.api("GET", f"/v2/dlq/{status.dlq_id}")
    assert code == 200
    assert entry["dlqId"] == status.dlq_id
    assert entry["messageId"] == message_id
    assert entry["responseStatus"] == 500
    assert entry["responseBody"] == "it broke"
    assert entry["responseHeader"]["X-Reason"] == ["db down"]
    assert entry["url"] == httpserver.url_for("/fail")
    assert entry["body"] == "payload" and entry["maxRetries"] == 0
    assert postbox.receive() == []


def test_a_failed_attempt_schedules_the_retry(postbox, httpserver: HTTPServer):
    httpserver.expect_request("/flaky").respond_with_data("no", status=503)
    message_id = publish(postbox, httpserver.url_for("/flaky"), {"Upstash-Retries": "2"})
    postbox.run_worker(postbox.receive())
    status = state_of(postbox, message_id)
    assert status.state == "RETRY" and status.attempt == 1 and status.last_response_status == 503
    assert 12_000 <= status.next_delivery_at_ms - status.updated_at_ms <= 12_500
    # The message is still readable while it waits for its retry
    code, message, _ = postbox.api("GET", f"/v2/messages/{message_id}")
    assert code == 200 and message["messageId"] == message_id


def test_connection_errors_are_failed_attempts(postbox):
    message_id = publish(postbox, "http://127.0.0.1:9/nothing-listens-here", {"Upstash-Retries": "0"})
    postbox.run_worker(postbox.receive())
    status = state_of(postbox, message_id)
    assert status.state == "FAILED" and "connection" in (status.last_error or "")


def test_redirects_are_not_followed(postbox, httpserver: HTTPServer):
    httpserver.expect_request("/moved").respond_with_response(Response("", status=302, headers={"Location": "/x"}))
    message_id = publish(postbox, httpserver.url_for("/moved"), {"Upstash-Retries": "0"})
    postbox.run_worker(postbox.receive())
    assert state_of(postbox, message_id).last_response_status == 302
    assert [r.path for r, _ in httpserver.log] == ["/moved"]


def test_a_poison_record_fails_alone(postbox, httpserver: HTTPServer):
    # Given a batch with an unparseable record next to a good one
    httpserver.expect_request("/hook").respond_with_data("ok")
    publish(postbox, httpserver.url_for("/hook"))
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=postbox.env["DELIVERY_QUEUE_URL"], MessageBody="{not json")
    records = postbox.receive()
    assert len(records) == 2
    poison = next(r for r in records if r["Body"] == "{not json")
    # When the worker handles it / Then only the poison record is reported failed, the good one is delivered
    response = postbox.run_worker(records)
    assert response == {"batchItemFailures": [{"itemIdentifier": poison["MessageId"]}]}
    assert len(httpserver.log) == 1


def test_a_record_that_fails_unexpectedly_is_logged(postbox):
    # Given a published message, and then its table gone (any unexpected backend failure)
    message_id = publish(postbox, "https://example.com/hook")
    records = postbox.receive()
    boto3.client("dynamodb").delete_table(TableName=postbox.env["MESSAGES_TABLE"])
    kept: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            kept.append(record)

    handler = Keep()
    logger._logger.addHandler(handler)  # noqa: SLF001 - the standard logger under Powertools' Logger

    # When the worker handles its record
    try:
        response = postbox.run_worker(records)
    finally:
        logger._logger.removeHandler(handler)  # noqa: SLF001

    # Then the batch, whose every record failed, is reported as failed records (they come back later), not as an
    # invocation error: the worker-errors alarm means a crash or a timeout
    assert response == {"batchItemFailures": [{"itemIdentifier": records[0]["MessageId"]}]}

    # Then the log says why, naming the message
    (failure,) = [r for r in kept if r.getMessage() == "record failed, it will be received again"]
    assert failure.levelno == logging.ERROR and failure.message_id == message_id  # type: ignore[attr-defined]
    assert failure.exc_info and failure.exc_info[1].__class__.__name__ == "ResourceNotFoundException"


def test_method_get_sends_no_body(postbox, httpserver: HTTPServer):
    def check(request: Request) -> Response:
        return Response("ok" if request.get_data() == b"" else "unexpected body", status=200)

    httpserver.expect_request("/get", method="GET").respond_with_handler(check)
    message_id = publish(postbox, httpserver.url_for("/get"), {"Upstash-Method": "GET"}, body=b"")
    postbox.run_worker(postbox.receive())
    assert state_of(postbox, message_id).state == "DELIVERED"


def test_the_sweep_delivers_a_message_whose_record_was_lost(postbox, httpserver: HTTPServer, monkeypatch):
    # Given a published message whose queue record is lost (a crash between the write and the enqueue)
    httpserver.expect_request("/lost").respond_with_data("ok")
    message_id = publish(postbox, httpserver.url_for("/lost"))
    sqs = boto3.client("sqs")
    for record in postbox.receive():
        sqs.delete_message(QueueUrl=postbox.env["DELIVERY_QUEUE_URL"], ReceiptHandle=record["ReceiptHandle"])
    # When the recurring sweep runs (as the stack's schedule invokes the worker) once it is overdue
    from functions.worker.handler import lambda_handler
    from local_mode.lambda_context import LocalLambdaContext
    from local_mode.runtime import reset_process_caches

    assert lambda_handler({"sweep": True}, LocalLambdaContext("postbox-worker")) == {"requeued": 0}  # not overdue
    monkeypatch.setenv("SWEEP_GRACE_SECONDS", "0.001")
    reset_process_caches()
    assert lambda_handler({"sweep": True}, LocalLambdaContext("postbox-worker")) == {"requeued": 1}
    # Then its record is back and it is delivered
    postbox.drain()
    assert state_of(postbox, message_id).state == "DELIVERED"
    assert len(httpserver.log) == 1


def test_a_dlq_replay_is_not_swallowed_by_dedup(postbox, httpserver: HTTPServer):
    httpserver.expect_request("/dedup").respond_with_data("no", status=500)
    headers = {"Upstash-Retries": "0", "Upstash-Deduplication-Id": "once"}
    message_id = publish(postbox, httpserver.url_for("/dedup"), headers)
    postbox.drain()
    dlq_id = state_of(postbox, message_id).dlq_id
    code, replay, _ = postbox.api("POST", f"/v2/dlq/retry/{dlq_id}")
    assert code == 201 and replay["messageId"] != message_id
    # a publish with the same id inside the window is still a duplicate of the first message
    code, again, _ = postbox.api("POST", f"/v2/publish/{httpserver.url_for('/dedup')}", headers=headers)
    assert code == 202 and again["messageId"] == message_id


def test_expired_dlq_entries_are_gone(postbox):
    from functions.composition.stores import Stores
    from functions.core.models import AttemptResult, DlqEntry, MessageRequest
    from functions.shared.config import get_settings

    dlq = Stores(get_settings()).dlq
    request = MessageRequest(message_id="m", url="https://e.com", not_before_ms=1, created_at_ms=1)
    entry = DlqEntry(dlq_id="expired", request=request, response=AttemptResult(status=500), created_at_ms=1)
    boto3.client("dynamodb").put_item(**dlq.put_in_transaction(entry, expires_at_ms=1000)["Put"])  # expired in 1970
    assert postbox.api("GET", "/v2/dlq/expired")[0] == 404
    assert postbox.api("GET", "/v2/dlq")[1] == {"messages": []}
    assert postbox.api("DELETE", "/v2/dlq/expired")[0] == 404
