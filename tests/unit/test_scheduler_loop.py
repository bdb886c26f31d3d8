"""Local mode's scheduler fires each due schedule, and runs the sweep, in a thread of its own: a slow firing holds
up no other, and a schedule whose firing is under way is not fired again."""

from __future__ import annotations

import json
import threading
from typing import Any

from functions.stores.delivery_queue import SQS_SEND_MESSAGE_TARGET
from local_mode.scheduler_loop import SchedulerLoop
from tests.e2e.conftest import wait_until

CRON_TARGET = {"Arn": "arn:aws:lambda:us-east-1:123456789012:function:postbox-worker", "Input": '{"schedule": "s"}'}


class _Scheduler:
    """EventBridge Scheduler's calls the loop makes, over schedules held in a dict."""

    def __init__(self, schedules: dict[str, dict[str, Any]]) -> None:
        self.schedules = schedules
        self.lock = threading.Lock()

    def get_paginator(self, name: str) -> Any:
        schedules = self

        class Pages:
            def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
                with schedules.lock:
                    return [{"Schedules": [{"Name": name} for name in schedules.schedules]}]

        return Pages()

    def get_schedule(self, Name: str, GroupName: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        with self.lock:
            return self.schedules[Name]

    def delete_schedule(self, Name: str, GroupName: str) -> None:  # noqa: N803
        with self.lock:
            del self.schedules[Name]


class _Queue:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_message(self, QueueUrl: str, MessageBody: str, DelaySeconds: int) -> None:  # noqa: N803
        self.sent.append(MessageBody)


def _one_time(body: str) -> dict[str, Any]:
    params = {"QueueUrl": "q", "MessageBody": body, "DelaySeconds": 0}
    target = {"Arn": SQS_SEND_MESSAGE_TARGET, "Input": json.dumps(params)}
    return {"ScheduleExpression": "at(2020-01-01T00:00:00)", "Target": target}


def test_a_one_time_schedule_fires_while_a_cron_firing_hangs() -> None:
    # Given a cron schedule whose firing hangs until released
    release, invoked = threading.Event(), []

    def hanging_invoke(event: dict[str, Any]) -> object:
        invoked.append(event)
        return release.wait(60)

    schedules = {"cron": {"ScheduleExpression": "cron(* * * * ? *)", "Target": CRON_TARGET}}
    scheduler, queue = _Scheduler(schedules), _Queue()
    loop = SchedulerLoop(scheduler, queue, "g", interval_s=0.02, invoke_function=hanging_invoke)  # type: ignore[arg-type]
    loop.start()
    try:
        wait_until(lambda: invoked, timeout=30, what="the cron firing under way")
        # When a one-time schedule comes due
        with scheduler.lock:
            schedules["once"] = _one_time("due")
        # Then it fires (and is deleted) while the cron firing still hangs
        wait_until(lambda: queue.sent == ["due"] and "once" not in schedules, timeout=30, what="the one-time firing")
        assert not release.is_set() and len(invoked) == 1
    finally:
        release.set()
        loop.stop()


def test_firings_go_on_while_the_sweep_hangs() -> None:
    release, sweeps = threading.Event(), []

    def hanging_sweep() -> object:
        sweeps.append(1)
        return release.wait(60)

    schedules: dict[str, dict[str, Any]] = {}
    scheduler, queue = _Scheduler(schedules), _Queue()
    loop = SchedulerLoop(scheduler, queue, "g", interval_s=0.02, sweep=hanging_sweep, sweep_every_s=0)  # type: ignore[arg-type]
    loop.start()
    try:
        wait_until(lambda: sweeps, timeout=30, what="the sweep under way")
        with scheduler.lock:
            schedules["once"] = _one_time("due")
        wait_until(lambda: queue.sent == ["due"], timeout=30, what="the one-time firing")
        assert sweeps == [1]  # one sweep at a time, however often the loop comes round
    finally:
        release.set()
        loop.stop()


def test_a_schedule_is_not_fired_again_while_its_firing_is_under_way() -> None:
    # Given a one-time schedule whose sqs:sendMessage hangs
    release = threading.Event()

    class SlowQueue(_Queue):
        def send_message(self, QueueUrl: str, MessageBody: str, DelaySeconds: int) -> None:  # noqa: N803
            self.sent.append(MessageBody)
            release.wait(60)

    scheduler, queue = _Scheduler({"once": _one_time("due")}), SlowQueue()
    loop = SchedulerLoop(scheduler, queue, "g", interval_s=0.01)  # type: ignore[arg-type]
    loop.start()
    try:
        wait_until(lambda: queue.sent, timeout=30, what="the firing under way")
        # When the loop comes round many times during the firing
        assert loop.fire_due() == 0
        # Then the schedule was fired once, and is deleted once the firing ends
        release.set()
        wait_until(lambda: "once" not in scheduler.schedules, timeout=30, what="the deletion")
        assert queue.sent == ["due"]
    finally:
        release.set()
        loop.stop()
