"""The routes that manage what publishing goes through: URL groups, queues, cron schedules, flow-control keys.
Part of the route table (functions/api/routes/table.py)."""

from __future__ import annotations

from functions.api.requests import EndpointsRequest, PinQuery, UnpinQuery
from functions.api.route_spec import Caller, Route
from functions.api.schemas import (
    BODY_ERRORS,
    DESTINATION,
    NAME,
    NOT_FOUND,
    PUBLISH_BODY,
    PUBLISH_DESCRIPTION,
    SCHEDULE_CREATED,
    array,
    header,
    path,
    publish_headers,
    query_params,
    queue_upsert_schema,
    ref,
)
from functions.flow.views import FlowControlView, GlobalParallelismView
from functions.queues.views import QueueView
from functions.schedules.views import ScheduleView
from functions.topics.views import TopicView

READ, FULL = Caller.READ, Caller.FULL
_QUEUE = path("queueName", "a queue's name", NAME)
_TOPIC = path("name", "a URL group's name", NAME)
_SCHEDULE = path("scheduleId", "a schedule's id", NAME)
_KEY = path("key", "a flow-control key", {"type": "string", "minLength": 1, "maxLength": 256})

RESOURCE_ROUTES: tuple[Route, ...] = (
    # --- URL groups (QStash still calls them topics in its paths)
    Route(
        "POST",
        "/v2/topics/{name}/endpoints",
        "upsert_endpoints",
        FULL,
        "Add or update endpoints of a URL group (creates it)",
        "url groups",
        params=(_TOPIC,),
        body={"application/json": ref(EndpointsRequest)},
        body_required=True,
        errors=(400, 401, 429, 503),
    ),
    Route(
        "DELETE",
        "/v2/topics/{name}/endpoints",
        "remove_endpoints",
        FULL,
        "Remove endpoints (by url or name) from a URL group; an emptied group is deleted",
        "url groups",
        params=(_TOPIC,),
        body={"application/json": ref(EndpointsRequest)},
        body_required=True,
        errors=(400, 401, 404, 429, 503),
    ),
    Route("GET", "/v2/topics", "list_topics", READ, "The URL groups", "url groups", ok=(200, array(ref(TopicView)))),
    Route(
        "GET",
        "/v2/topics/{name}",
        "get_topic",
        READ,
        "A URL group",
        "url groups",
        ok=(200, ref(TopicView)),
        params=(_TOPIC,),
        errors=NOT_FOUND,
    ),
    Route(
        "DELETE",
        "/v2/topics/{name}",
        "delete_topic",
        FULL,
        "Delete a URL group (a missing one too)",
        "url groups",
        params=(_TOPIC,),
        errors=(400, 401, 429),
    ),
    # --- queues
    Route(
        "POST",
        "/v2/queues",
        "upsert_queue",
        FULL,
        "Create or update a queue",
        "queues",
        body={"application/json": queue_upsert_schema},
        body_required=True,
        errors=(400, 401, 429),
    ),
    Route("GET", "/v2/queues", "list_queues", READ, "The queues", "queues", ok=(200, array(ref(QueueView)))),
    Route(
        "GET",
        "/v2/queues/{queueName}",
        "get_queue",
        READ,
        "A queue",
        "queues",
        ok=(200, ref(QueueView)),
        params=(_QUEUE,),
        errors=NOT_FOUND,
    ),
    Route(
        "DELETE",
        "/v2/queues/{queueName}",
        "delete_queue",
        FULL,
        "Delete a queue; its waiting messages are cancelled",
        "queues",
        params=(_QUEUE,),
        errors=(400, 401, 429),
    ),
    *(
        Route(
            "POST",
            f"/v2/queues/{{queueName}}/{verb}",
            f"{verb}_queue",
            FULL,
            f"{verb.capitalize()} a queue",
            "queues",
            params=(_QUEUE,),
            errors=NOT_FOUND,
        )
        for verb in ("pause", "resume")
    ),
    # --- cron schedules (EventBridge Scheduler, invoking the worker)
    Route(
        "POST",
        "/v2/schedules/{destination+}",
        "create_schedule",
        FULL,
        "Create a cron schedule, or overwrite the one named by Upstash-Schedule-Id",
        "schedules",
        ok=(200, SCHEDULE_CREATED),
        params=(
            DESTINATION,
            header(
                "Upstash-Cron",
                {"type": "string", "examples": ["*/5 * * * *", "CRON_TZ=Europe/Berlin 0 9 * * 1-5"]},
                "5 fields, optionally after `CRON_TZ=<zone> `",
                required=True,
            ),
            header("Upstash-Schedule-Id", NAME),
            header("Upstash-Queue-Name", NAME, "enqueue each firing into this queue"),
            publish_headers,
        ),
        body=dict(PUBLISH_BODY),
        errors=BODY_ERRORS,
        description=PUBLISH_DESCRIPTION,
    ),
    Route(
        "GET", "/v2/schedules", "list_schedules", READ, "The schedules", "schedules", ok=(200, array(ref(ScheduleView)))
    ),
    Route(
        "GET",
        "/v2/schedules/{scheduleId}",
        "get_schedule",
        READ,
        "A schedule",
        "schedules",
        ok=(200, ref(ScheduleView)),
        params=(_SCHEDULE,),
        errors=NOT_FOUND,
    ),
    Route(
        "DELETE",
        "/v2/schedules/{scheduleId}",
        "delete_schedule",
        FULL,
        "Delete a schedule",
        "schedules",
        params=(_SCHEDULE,),
        errors=NOT_FOUND,
    ),
    *(  # pause and resume take either method
        Route(
            method,
            f"/v2/schedules/{{scheduleId}}/{verb}",
            f"{verb}_schedule",
            FULL,
            f"{verb.capitalize()} a schedule",
            "schedules",
            params=(_SCHEDULE,),
            errors=NOT_FOUND,
        )
        for verb in ("pause", "resume")
        for method in ("PATCH", "POST")
    ),
    # --- flow control: list, inspect, pause/resume, pin/unpin parallelism, reset rate
    Route(
        "GET",
        "/v2/flowControl",
        "list_flow_control",
        READ,
        "The flow-control keys",
        "flow control",
        ok=(200, array(ref(FlowControlView))),
    ),
    Route(
        "GET",
        "/v2/flowControl/{key}",
        "get_flow_control",
        READ,
        "A flow-control key's limits and counts",
        "flow control",
        ok=(200, ref(FlowControlView)),
        params=(_KEY,),
        errors=NOT_FOUND,
    ),
    *(
        Route(
            "POST",
            f"/v2/flowControl/{{key}}/{verb}",
            handler,
            FULL,
            summary,
            "flow control",
            params=(_KEY, *query),
            errors=NOT_FOUND,
        )
        for verb, handler, summary, query in (
            ("pause", "pause_flow_control", "Hold the key's deliveries (new messages wait)", ()),
            ("resume", "resume_flow_control", "Release the key's deliveries", ()),
            ("pin", "pin_flow_control", "Fix the key's limits, whatever messages say", query_params(PinQuery)),
            ("unpin", "unpin_flow_control", "Let messages set the key's limits again", query_params(UnpinQuery)),
            ("resetRate", "reset_flow_control_rate", "Start a new rate period now", ()),
        )
    ),
    Route(
        "GET",
        "/v2/globalParallelism",
        "global_parallelism",
        READ,
        "Deliveries in flight across all keys",
        "flow control",
        ok=(200, ref(GlobalParallelismView)),
    ),
)
