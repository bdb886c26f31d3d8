"""Local mode's EventBridge Scheduler: moto stores schedules but never fires them, so this loop does.

It fires the one-time `at()` schedules of Postbox's group whose time has come, by calling their universal
target (`sqs:sendMessage` with the stored input) and deleting them, as `ActionAfterCompletion=DELETE` would.
It also fires the stack's recurring schedule: the worker's sweep of overdue messages.
Each firing, and the sweep, runs in a thread of its own, as the service fires schedules independently: a slow one
holds up no other. A schedule is not fired again while its firing is under way.
The clock can be moved forward (`advance`), so tests need not wait for real minutes.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
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
FIRING_THREADS = 8  # firings under way at once; more wait for a thread, not for each other
SWEEP = "<sweep>"  # the sweep's name among the jobs under way (no schedule's name has angle brackets)


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
        self._firings = ThreadPoolExecutor(max_workers=FIRING_THREADS, thread_name_prefix="scheduler-fire")
        self._under_way: dict[str, Future[object]] = {}  # by schedule name (or SWEEP)
        self._lock = threading.Lock()

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
        """Start firing every schedule of the group that is due and not being fired already; returns how many
        firings started. Each runs in its own thread (`wait_for_firings` waits for them)."""
        started = 0
        paginator = self.scheduler.get_paginator("list_schedules")
        for page in paginator.paginate(GroupName=self.group):
            for summary in page["Schedules"]:
                name = summary["Name"]
                if self._is_under_way(name):
                    continue
                schedule = self.scheduler.get_schedule(Name=name, GroupName=self.group)
                due = at_time_ms(schedule["ScheduleExpression"])
                job = self._recurring(name, schedule["Target"]) if due is None else None
                if due is not None and due <= self.now_ms():
                    job = functools.partial(self._fire_once, name, schedule["Target"])
                if job is not None:
                    self._start(name, job)
                    started += 1
        return started

    def _fire_once(self, name: str, target: Mapping[str, Any]) -> None:
        """A one-time schedule's firing: its universal target's `sqs:sendMessage`, then deletion."""
        if target["Arn"] == SQS_SEND_MESSAGE_TARGET:
            params = json.loads(target.get("Input", "{}"))
            self.sqs.send_message(
                QueueUrl=params["QueueUrl"],
                MessageBody=params["MessageBody"],
                DelaySeconds=int(params.get("DelaySeconds", 0)),
            )
        self.scheduler.delete_schedule(Name=name, GroupName=self.group)

    def _recurring(self, name: str, target: Mapping[str, Any]) -> Callable[[], object] | None:
        """Recurring (cron) schedules target the worker function: invoke it once per minute of this loop's clock
        with the minute as the scheduled time; the worker keeps the minutes that are ticks of the cron."""
        minute = self.now_ms() // 60_000 * 60_000
        invoke = self.invoke_function
        if invoke is None or ":function:" not in target["Arn"] or self._fired_minute.get(name) == minute:
            return None
        self._fired_minute[name] = minute
        scheduled = datetime.fromtimestamp(minute / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return functools.partial(invoke, json.loads(target.get("Input", "{}").replace(SCHEDULED_TIME, scheduled)))

    def _is_under_way(self, name: str) -> bool:
        with self._lock:
            return name in self._under_way

    def _start(self, name: str, job: Callable[[], object]) -> None:
        def run() -> object:
            try:
                return job()
            except Exception as exc:  # keep firing, as the service would
                print(f"scheduler loop: {name}: {exc!r}", flush=True)
                return None
            finally:
                with self._lock:
                    self._under_way.pop(name, None)

        with self._lock:
            self._under_way[name] = self._firings.submit(run)

    def wait_for_firings(self, timeout_s: float = STOP_WAIT_S) -> None:
        """Wait until the firings and the sweep under way have ended."""
        with self._lock:
            under_way = list(self._under_way.values())
        wait(under_way, timeout=timeout_s)

    def run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.fire_due()
            except Exception as exc:  # keep firing, as the service would
                print(f"scheduler loop: {exc!r}", flush=True)
            sweep, since = self.sweep, time.monotonic() - self._last_sweep
            if sweep is not None and since >= self.sweep_every_s and not self._is_under_way(SWEEP):
                self._last_sweep = time.monotonic()
                self._start(SWEEP, sweep)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="scheduler-loop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop, once the firing or sweep under way has ended: local mode tears the backend down next, and a call
        made after that would go to AWS itself."""
        self._stop.set()
        deadline = time.monotonic() + STOP_WAIT_S
        if self._thread:
            self._thread.join(timeout=STOP_WAIT_S)
        self.wait_for_firings(max(0.0, deadline - time.monotonic()))
        self._firings.shutdown(wait=False)
