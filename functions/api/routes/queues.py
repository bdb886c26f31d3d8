"""FIFO queues: upsert, list, read, delete, pause and resume."""

# No `from __future__ import annotations`: the resolver reads the route signatures at runtime.

from aws_lambda_powertools.event_handler import Response

from functions.api.incoming import json_body
from functions.api.requests import QueueUpsertRequest, parse
from functions.api.resolver import feature_router
from functions.api.responses import empty_response, json_response
from functions.api.root import api_root
from functions.queues.views import queue_view
from functions.shared.observability import tracer
from functions.topics.models import validate_name

router = feature_router()


@tracer.capture_method
def upsert_queue() -> Response[str]:
    request = parse(QueueUpsertRequest, body=json_body())
    api_root().queues.upsert(request.queue_name, request.parallelism, request.paused)
    return empty_response()


@tracer.capture_method
def list_queues() -> Response[str]:
    return json_response([queue_view(q) for q in api_root().queues.list()])


@tracer.capture_method
def get_queue(queue_name: str) -> Response[str]:
    validate_name(queue_name, "queue")
    return json_response(queue_view(api_root().queues.get(queue_name)))


@tracer.capture_method
def delete_queue(queue_name: str) -> Response[str]:
    validate_name(queue_name, "queue")
    api_root().queues.delete(queue_name)
    return empty_response()


@tracer.capture_method
def pause_queue(queue_name: str) -> Response[str]:
    validate_name(queue_name, "queue")
    api_root().queues.set_paused(queue_name, True)
    return empty_response()


@tracer.capture_method
def resume_queue(queue_name: str) -> Response[str]:
    validate_name(queue_name, "queue")
    api_root().queues.set_paused(queue_name, False)
    return empty_response()
