"""Cron schedules: create (or overwrite), list, read, delete, pause and resume."""

# No `from __future__ import annotations`: the resolver reads the route signatures at runtime.

import json

from aws_lambda_powertools.event_handler import Response

from functions.api.incoming import caller_ip, headers, path, raw_body, raw_query
from functions.api.resolver import feature_router
from functions.api.responses import empty_response, json_response
from functions.api.root import api_root
from functions.messages.publish import destination_from_path
from functions.schedules.views import schedule_view
from functions.shared.observability import tracer
from functions.topics.models import validate_name

router = feature_router()
SCHEDULE_PREFIX = "/v2/schedules/"


@tracer.capture_method
def pause_schedule(schedule_id: str) -> Response[str]:
    validate_name(schedule_id, "schedule")
    api_root().schedules.set_paused(schedule_id, True)
    return empty_response()


@tracer.capture_method
def resume_schedule(schedule_id: str) -> Response[str]:
    validate_name(schedule_id, "schedule")
    api_root().schedules.set_paused(schedule_id, False)
    return empty_response()


@tracer.capture_method
def create_schedule() -> Response[str]:
    """`Upstash-Cron` (+ `Upstash-Schedule-Id` to overwrite, `Upstash-Queue-Name`) and every publish header."""
    destination = destination_from_path(path()[len(SCHEDULE_PREFIX) :], raw_query())
    schedule_id = api_root().schedules.create(destination, headers(), raw_body(), caller_ip())
    return Response(status_code=200, content_type="application/json", body=json.dumps({"scheduleId": schedule_id}))


@tracer.capture_method
def list_schedules() -> Response[str]:
    return json_response([schedule_view(info) for info in api_root().schedules.list_all()])


@tracer.capture_method
def get_schedule(schedule_id: str) -> Response[str]:
    validate_name(schedule_id, "schedule")
    return json_response(schedule_view(api_root().schedules.get(schedule_id)))


@tracer.capture_method
def delete_schedule(schedule_id: str) -> Response[str]:
    validate_name(schedule_id, "schedule")
    api_root().schedules.delete(schedule_id)
    return empty_response()
