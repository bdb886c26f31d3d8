"""Local mode's SQS event source mapping: poll the delivery queue, call the worker handler with real SQS event
batches, delete what the handler did not report as failed (ReportBatchItemFailures semantics).

Like the event source, it runs several batches at once (up to `concurrency` invocations): a batch waiting on a slow
destination holds up only itself. One poller receives a batch and hands it to a free invoker. It starts a batch
beside those under way only once the newest has run for SCALE_OUT_AFTER_S: batches that end sooner are polled for
one after another, as one invoker would, so records that arrive meanwhile are delivered together (fewer, fuller
batches), and a batch held up by a slow destination is overtaken a moment later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from functions.shared.resources import DELIVERY_BATCH_SIZE
from local_mode.lambda_context import LocalLambdaContext

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

Handler = Callable[[dict[str, Any], Any], Any]
STOP_WAIT_S = 300.0  # the longest a batch under way may take to end when local mode stops (attempts time out)
# Batches delivered at once by default: more than ten destinations may hang before a healthy one waits.
DEFAULT_CONCURRENCY = 16
SCALE_OUT_AFTER_S = 0.1  # how long the newest batch under way runs before another is started beside it


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
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        if concurrency < 1:
            raise ValueError("the worker loop needs at least one invoker")
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
        self.concurrency = concurrency
        self._free = threading.Semaphore(concurrency)  # invokers not running a batch
        self._batches = threading.Condition()  # guards the two below; notified when a batch ends
        self._under_way = 0
        self._newest_started = 0.0  # time.monotonic() of the newest batch's start
        self._invokers = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="worker-invoke")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> int:
        """Receive one batch, hand it to the worker, acknowledge the successes (in this thread). Returns the batch
        size."""
        messages = self.receive()
        if messages:
            self.invoke(messages)
        return len(messages)

    def receive(self) -> list[MessageTypeDef]:
        return self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=DELIVERY_BATCH_SIZE,
            WaitTimeSeconds=self.wait_time_s,
            VisibilityTimeout=self.visibility_timeout_s,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])

    def invoke(self, messages: list[MessageTypeDef]) -> None:
        """Call the handler with one batch and delete what it did not report as failed."""
        context = LocalLambdaContext(self.function_name, timeout_s=self.visibility_timeout_s)
        response = self.handler(sqs_event(messages, self.queue_arn, self.region), context) or {}
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )

    def wake(self) -> None:
        """Poll now instead of at the end of the idle pause: something was just published (the event source
        mapping's long poll returns as soon as a record arrives; this is local mode's equivalent)."""
        self._wake.set()

    def run(self) -> None:
        while not self._stop.is_set():
            if not self._free.acquire(timeout=self.idle_s):  # every invoker is busy
                continue
            self._wait_to_scale_out()
            try:
                messages = self.receive()
            except Exception as exc:  # keep polling, as the event source mapping would
                self._free.release()
                print(f"worker loop: {exc!r}", flush=True)
                self._stop.wait(1)
                continue
            if not messages:
                self._free.release()
                self._wake.wait(self.idle_s)
                self._wake.clear()
                continue
            with self._batches:
                self._under_way += 1
                self._newest_started = time.monotonic()
            self._invokers.submit(self._invoke_and_free, messages)

    def _wait_to_scale_out(self) -> None:
        """Return once no batch is under way, or the newest has run for SCALE_OUT_AFTER_S (or the loop stops)."""
        with self._batches:
            while self._under_way and not self._stop.is_set():
                left = self._newest_started + SCALE_OUT_AFTER_S - time.monotonic()
                if left <= 0:
                    return
                self._batches.wait(left)

    def _invoke_and_free(self, messages: list[MessageTypeDef]) -> None:
        try:
            self.invoke(messages)
        except Exception as exc:  # the records come back after their visibility timeout, as on AWS
            print(f"worker loop: {exc!r}", flush=True)
        finally:
            with self._batches:
                self._under_way -= 1
                self._batches.notify_all()
            self._free.release()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="worker-loop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop, once the batch under way has been delivered and acknowledged: local mode tears the backend down
        next, and a call made after that would go to AWS itself."""
        self._stop.set()
        self._wake.set()
        with self._batches:
            self._batches.notify_all()
        deadline = time.monotonic() + STOP_WAIT_S
        if self._thread:
            self._thread.join(timeout=STOP_WAIT_S)  # the poller starts no batch after this
        with self._batches:
            self._batches.wait_for(lambda: not self._under_way, timeout=max(0.0, deadline - time.monotonic()))
        self._invokers.shutdown(wait=False)
