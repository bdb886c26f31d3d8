"""Local mode's EventBridge Scheduler: moto stores schedules but never fires them, so this loop does.

It fires the one-time `at()` schedules of Postbox's group whose time has come, by calling their universal
target (`sqs:sendMessage` with the stored input) and deleting them, as `ActionAfterCompletion=DELETE` would.
It also fires the stack's recurring schedule: the worker's sweep of overdue messages.
The clock can be moved forward (`advance`), so tests need not wait for real minutes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from functions.schedules.triggers import SCHEDULED_TIME
from functions.stores.delivery_queue import SQS_SEND_MESSAGE_TARGET

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_sqs import SQSClient


def at_time_ms(expression: str) -> int | None:
    """`at(2026-11-23T10:00:00)` (UTC) to unix ms; None for other expressions."""
    if not (expression.startswith("at(") and expression.endswith(")")):
        return None
    moment = datetime.strptime(expression[3:-1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


STOP_WAIT_S = 300.0  # the longest a firing or a sweep may take to end when local mode stops


class SchedulerLoop:
    def __init__(
        self,
        scheduler: EventBridgeSchedulerClient,
        sqs: SQSClient,
        group: str,
        interval_s: float = 1.0,
        sweep: Callable[[], object] | None = None,
        sweep_every_s: float = 30.0,
        invoke_function: Callable[[dict[str, Any]], object] | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.sqs = sqs
        self.group = group
        self.interval_s = interval_s
        self.sweep = sweep
        self.sweep_every_s = sweep_every_s
        self.invoke_function = invoke_function
        self._fired_minute: dict[str, int] = {}
        self._last_sweep = time.monotonic()
        self.offset_ms = 0
        self.frozen_ms: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def now_ms(self) -> int:
        if self.frozen_ms is not None:
            return self.frozen_ms
        return time.time_ns() // 1_000_000 + self.offset_ms

    def advance(self, seconds: float) -> None:
        """Move this loop's clock forward (tests)."""
        if self.frozen_ms is not None:
            self.frozen_ms += int(seconds * 1000)
        else:
            self.offset_ms += int(seconds * 1000)

    def freeze(self) -> None:
        """Stop this loop's clock where it is (tests): from now on only `advance` moves it."""
        self.frozen_ms = self.now_ms()

    def fire_due(self) -> int:
        """Fire every schedule of the group that is due; returns how many fired."""
        fired = 0
        paginator = self.scheduler.get_paginator("list_schedules")
        for page in paginator.paginate(GroupName=self.group):
            for summary in page["Schedules"]:
                schedule = self.scheduler.get_schedule(Name=summary["Name"], GroupName=self.group)
                due = at_time_ms(schedule["ScheduleExpression"])
                if due is None:
                    fired += self._fire_recurring(summary["Name"], schedule["Target"])
                    continue
                if due > self.now_ms():
                    continue
                target = schedule["Target"]
                if target["Arn"] == SQS_SEND_MESSAGE_TARGET:
                    params = json.loads(target.get("Input", "{}"))
                    self.sqs.send_message(
                        QueueUrl=params["QueueUrl"],
                        MessageBody=params["MessageBody"],
                        DelaySeconds=int(params.get("DelaySeconds", 0)),
                    )
                self.scheduler.delete_schedule(Name=summary["Name"], GroupName=self.group)
                fired += 1
        return fired

    def _fire_recurring(self, name: str, target: Mapping[str, Any]) -> int:
        """Recurring (cron) schedules target the worker function: invoke it once per minute of this loop's clock
        with the minute as the scheduled time; the worker keeps the minutes that are ticks of the cron."""
        minute = self.now_ms() // 60_000 * 60_000
        if self.invoke_function is None or ":function:" not in target["Arn"] or self._fired_minute.get(name) == minute:
            return 0
        self._fired_minute[name] = minute
        scheduled = datetime.fromtimestamp(minute / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.invoke_function(json.loads(target.get("Input", "{}").replace(SCHEDULED_TIME, scheduled)))
        return 1

    def run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.fire_due()
                if self.sweep is not None and time.monotonic() - self._last_sweep >= self.sweep_every_s:
                    self._last_sweep = time.monotonic()
                    self.sweep()
            except Exception as exc:  # keep firing, as the service would
                print(f"scheduler loop: {exc!r}", flush=True)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="scheduler-loop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop, once the firing or sweep under way has ended: local mode tears the backend down next, and a call
        made after that would go to AWS itself."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=STOP_WAIT_S)
