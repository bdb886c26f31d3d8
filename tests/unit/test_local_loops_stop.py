"""Local mode's loops stop only once the work under way has ended: local mode tears the in-process backend down
right after, and a call made then would go to AWS itself (a sweep outliving its loop's stop once did)."""

from __future__ import annotations

import threading
import time
from typing import Any

from local_mode.scheduler_loop import SchedulerLoop
from local_mode.worker_loop import WorkerLoop


class _NoSchedules:
    def get_paginator(self, name: str) -> Any:
        class Pages:
            def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
                return [{"Schedules": []}]

        return Pages()


def test_the_scheduler_loop_stops_after_the_sweep_under_way() -> None:
    # Given a sweep that takes longer than the loop's poll interval plus the old 5 s wait
    started, finished = threading.Event(), threading.Event()

    def slow_sweep() -> None:
        started.set()
        time.sleep(5.5)
        finished.set()

    loop = SchedulerLoop(_NoSchedules(), sqs=None, group="g", interval_s=0.05, sweep=slow_sweep, sweep_every_s=0)  # type: ignore[arg-type]
    loop.start()
    assert started.wait(10)
    # When the loop is stopped mid-sweep / Then stop returns only once the sweep has ended
    loop.stop()
    assert finished.is_set()


class _Queue:
    """One message, invisible once received (the visibility timeout outlasts the test)."""

    def __init__(self) -> None:
        self.deleted: list[Any] = []
        self.received = False

    def get_queue_attributes(self, **kwargs: Any) -> dict[str, Any]:
        return {"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:123456789012:q"}}

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        body = {"MessageId": "m", "ReceiptHandle": "r", "Body": "{}", "MD5OfBody": ""}
        first, self.received = not self.received, True
        return {"Messages": [body]} if first else {}

    def delete_message_batch(self, **kwargs: Any) -> None:
        self.deleted.append(kwargs["Entries"])


def test_the_worker_loop_stops_after_the_batch_under_way_is_acknowledged() -> None:
    started = threading.Event()

    def slow_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        started.set()
        time.sleep(5.5)
        return {"batchItemFailures": []}

    queue = _Queue()
    loop = WorkerLoop(slow_handler, queue, "url", visibility_timeout_s=30, region="us-east-1")  # type: ignore[arg-type]
    loop.start()
    assert started.wait(10)
    loop.stop()
    assert queue.deleted == [[{"Id": "0", "ReceiptHandle": "r"}]]
