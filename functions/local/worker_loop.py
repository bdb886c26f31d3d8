"""Local mode's SQS event source mapping: long-poll the delivery queue, call the worker handler with real SQS
event batches, delete what the handler did not report as failed (ReportBatchItemFailures semantics)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from functions.local.lambda_context import LocalLambdaContext
from functions.shared.resources import DELIVERY_BATCH_SIZE

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

Handler = Callable[[dict[str, Any], Any], Any]
STOP_WAIT_S = 300.0  # the longest a batch under way may take to end when local mode stops (attempts time out)


def sqs_event(messages: list[MessageTypeDef], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source sends (one record per message)."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": dict(m.get("Attributes", {})),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class WorkerLoop:
    def __init__(
        self,
        handler: Handler,
        sqs: SQSClient,
        queue_url: str,
        visibility_timeout_s: int,
        region: str,
        wait_time_s: int = 0,
        function_name: str = "postbox-worker",
        idle_s: float = 0.1,
    ) -> None:
        self.handler = handler
        self.sqs = sqs
        self.queue_url = queue_url
        self.visibility_timeout_s = visibility_timeout_s
        self.region = region
        # moto's long polling does not notice a delayed record becoming visible until its wait ends, so local mode
        # short-polls (with a pause when idle) to deliver on time to a tenth of a second.
        self.wait_time_s = wait_time_s
        self.idle_s = idle_s
        self.function_name = function_name
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> int:
        """Receive one batch, hand it to the worker, acknowledge the successes. Returns the batch size."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=DELIVERY_BATCH_SIZE,
            WaitTimeSeconds=self.wait_time_s,
            VisibilityTimeout=self.visibility_timeout_s,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        context = LocalLambdaContext(self.function_name, timeout_s=self.visibility_timeout_s)
        response = self.handler(sqs_event(messages, self.queue_arn, self.region), context) or {}
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(messages)

    def wake(self) -> None:
        """Poll now instead of at the end of the idle pause: something was just published (the event source
        mapping's long poll returns as soon as a record arrives; this is local mode's equivalent)."""
        self._wake.set()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.poll_once():
                    self._wake.wait(self.idle_s)
                    self._wake.clear()
            except Exception as exc:  # keep polling, as the event source mapping would
                print(f"worker loop: {exc!r}", flush=True)
                self._stop.wait(1)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="worker-loop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop, once the batch under way has been delivered and acknowledged: local mode tears the backend down
        next, and a call made after that would go to AWS itself."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=STOP_WAIT_S)
