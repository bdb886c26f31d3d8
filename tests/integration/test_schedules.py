"""Cron schedules: management, the Scheduler trigger, and firing once per tick, against mock_aws."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from pytest_httpserver import HTTPServer

from local_mode.lambda_context import LocalLambdaContext
from tests.integration.conftest import Postbox

MINUTE = 1_800_000_000_000  # a whole minute (unix ms)


def create(
    postbox: Postbox,
    destination: str,
    cron: str = "*/1 * * * *",
    headers: dict[str, str] | None = None,
    body: bytes = b"tick",
) -> tuple[int, Any, dict[str, str]]:
    return postbox.api(
        "POST", f"/v2/schedules/{destination}", body=body, headers={"Upstash-Cron": cron, **(headers or {})}
    )


def fire(schedule_id: str, at_ms: int) -> dict[str, Any]:
    from datetime import UTC, datetime

    from functions.worker.handler import lambda_handler

    when = datetime.fromtimestamp(at_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dict(lambda_handler({"schedule": schedule_id, "scheduledTime": when}, LocalLambdaContext("postbox-worker")))


def test_schedule_management(postbox):
    code, answer, _ = create(
        postbox,
        "https://example.com/cron",
        headers={"Upstash-Schedule-Id": "nightly", "Upstash-Retries": "2", "Upstash-Forward-X-A": "1"},
    )
    assert (code, answer) == (200, {"scheduleId": "nightly"})
    code, schedule, _ = postbox.api("GET", "/v2/schedules/nightly")
    assert code == 200
    assert schedule["scheduleId"] == "nightly" and schedule["destination"] == "https://example.com/cron"
    assert schedule["cron"] == "*/1 * * * *" and schedule["method"] == "POST" and schedule["retries"] == 2
    assert schedule["header"] == {"X-A": ["1"]} and schedule["body"] == "tick" and schedule["isPaused"] is False
    assert schedule["nextScheduleTime"] > schedule["createdAt"]
    # the trigger is a recurring EventBridge Scheduler schedule in Postbox's group, targeting the worker
    scheduler = boto3.client("scheduler")
    trigger = scheduler.get_schedule(Name="cron-nightly", GroupName=postbox.env["SCHEDULE_GROUP"])
    assert trigger["ScheduleExpression"] == "cron(0/1 * * * ? *)"
    assert trigger["Target"]["Arn"] == postbox.env["WORKER_FUNCTION_ARN"]
    assert json.loads(trigger["Target"]["Input"]) == {
        "schedule": "nightly",
        "scheduledTime": "<aws.scheduler.scheduled-time>",
    }
    # overwrite by id, pause and resume (PATCH as the SDKs do, POST as the docs say)
    create(
        postbox,
        "https://example.com/cron",
        cron="CRON_TZ=Europe/Istanbul 0 9 * * 1-5",
        headers={"Upstash-Schedule-Id": "nightly"},
    )
    assert postbox.api("GET", "/v2/schedules/nightly")[1]["cron"] == "CRON_TZ=Europe/Istanbul 0 9 * * 1-5"
    trigger = scheduler.get_schedule(Name="cron-nightly", GroupName=postbox.env["SCHEDULE_GROUP"])
    assert trigger["ScheduleExpression"] == "cron(0 9 ? * 2-6 *)"
    assert trigger["ScheduleExpressionTimezone"] == "Europe/Istanbul"
    assert postbox.api("PATCH", "/v2/schedules/nightly/pause")[0] == 200
    assert postbox.api("GET", "/v2/schedules/nightly")[1]["isPaused"] is True
    assert postbox.api("POST", "/v2/schedules/nightly/resume")[0] == 200
    assert postbox.api("GET", "/v2/schedules/nightly")[1]["isPaused"] is False
    assert [s["scheduleId"] for s in postbox.api("GET", "/v2/schedules")[1]] == ["nightly"]
    assert postbox.api("DELETE", "/v2/schedules/nightly")[0] == 200
    assert postbox.api("GET", "/v2/schedules/nightly")[0] == 404
    assert scheduler.list_schedules(GroupName=postbox.env["SCHEDULE_GROUP"])["Schedules"] == []


@pytest.mark.parametrize(
    ("cron", "headers"),
    [
        ("not a cron", {}),
        ("* * * *", {}),
        ("CRON_TZ=Mars/Base * * * * *", {}),
        ("* * * * *", {"Upstash-Schedule-Id": "bad id"}),
    ],
)
def test_bad_schedules_are_400(postbox, cron, headers):
    code, body, _ = create(postbox, "https://example.com/x", cron=cron, headers=headers)
    assert code == 400 and set(body) == {"error"}
    assert postbox.api("GET", "/v2/schedules")[1] == []


def test_a_schedule_without_cron_is_400(postbox):
    code, body, _ = postbox.api("POST", "/v2/schedules/https://example.com/x")
    assert code == 400 and "Upstash-Cron" in body["error"]


def test_a_schedule_fires_once_per_tick(postbox, httpserver: HTTPServer):
    httpserver.expect_request("/tick").respond_with_data("ok")
    schedule_id = create(postbox, httpserver.url_for("/tick"), headers={"Upstash-Label": "cron"})[1]["scheduleId"]
    # the trigger fires (and may fire again, e.g. a retried invocation) for a minute: one message
    assert fire(schedule_id, MINUTE + 60_000) == {"published": 1}
    assert fire(schedule_id, MINUTE + 60_000) == {"published": 0}
    assert fire(schedule_id, MINUTE + 120_000) == {"published": 1}
    postbox.drain()
    assert len(httpserver.log) == 2
    assert {r.headers["Upstash-Schedule-Id"] for r, _ in httpserver.log} == {schedule_id}
    schedule = postbox.api("GET", f"/v2/schedules/{schedule_id}")[1]
    assert list(schedule["lastScheduleStates"].values()) == ["SUCCESS"]
    assert schedule["lastScheduleTime"] == MINUTE + 120_000
    # paused, it fires no more
    postbox.api("PATCH", f"/v2/schedules/{schedule_id}/pause")
    assert fire(schedule_id, MINUTE + 180_000) == {"published": 0}


@pytest.mark.parametrize(("cron", "expected"), [("30 * 15 * 1", 3), ("30 * 1 * 1", 1), ("30 * 1 * 5", 3)])
def test_an_every_minute_trigger_keeps_only_the_ticks(postbox, cron, expected):
    # Given a cron Scheduler cannot express (day of month and day of week both set: either one matches),
    # fired every minute for two hours of Friday 2027-01-15 from 08:00 UTC
    schedule_id = create(postbox, "https://example.com/x", cron=cron)[1]["scheduleId"]
    published = sum(fire(schedule_id, MINUTE + m * 60_000)["published"] for m in range(120))
    # Then only ticks publish, each once: when the 15th or Friday (5) matches, the 07:30 tick missed since the
    # schedule was created (caught up at the first firing), 08:30 and 09:30; on other days only the catch-up
    # (of Monday 2027-01-11 23:30)
    assert published == expected


@pytest.mark.parametrize("cron", ["0 0 30 2 *", "0 0 31 4 *", "0 0 29 2 *", "0 0 ? * *"])
def test_a_cron_that_never_fires_within_a_year_is_a_400(postbox, cron):
    code, answer, _ = create(postbox, "https://example.com/cron", cron=cron)
    assert code == 400 and "Upstash-Cron" in answer["error"]
    assert postbox.api("GET", "/v2/schedules")[1] == []


def test_one_impossible_stored_schedule_never_fails_the_listing(postbox):
    # Given two schedules, one of whose cron was stored impossible (as before the check, or by hand)
    from functions.schedules.repository import ScheduleRepository
    from functions.shared.config import get_settings

    assert create(postbox, "https://example.com/a", headers={"Upstash-Schedule-Id": "fine"})[0] == 200
    assert create(postbox, "https://example.com/b", headers={"Upstash-Schedule-Id": "broken"})[0] == 200
    repository = ScheduleRepository(get_settings().schedules_table)
    stored = repository.get("broken")
    assert stored is not None
    repository.put(stored.model_copy(update={"cron": "0 0 30 2 *"}))
    # Then the listing and the schedule answer, the impossible one without a next time, and firing it is a no-op
    code, listed, _ = postbox.api("GET", "/v2/schedules")
    assert code == 200 and {s["scheduleId"] for s in listed} == {"fine", "broken"}
    code, broken, _ = postbox.api("GET", "/v2/schedules/broken")
    assert code == 200 and "nextScheduleTime" not in broken
    assert fire("broken", MINUTE + 60_000) == {"published": 0}
