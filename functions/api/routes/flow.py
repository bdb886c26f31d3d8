"""Flow-control keys: list, read, pause and resume, pin and unpin limits, reset the rate; global parallelism."""

# No `from __future__ import annotations`: the resolver reads the route signatures at runtime.

from aws_lambda_powertools.event_handler import Response

from functions.api.incoming import query
from functions.api.requests import PinQuery, UnpinQuery, parse, path_id
from functions.api.resolver import feature_router
from functions.api.responses import empty_response, json_response
from functions.api.root import api_root
from functions.flow.views import GlobalParallelismView, flow_control_view
from functions.shared.observability import tracer

router = feature_router()
KEY = "flow-control key"


@tracer.capture_method
def list_flow_control() -> Response[str]:
    return json_response([flow_control_view(info) for info in api_root().flows.list_all()])


@tracer.capture_method
def get_flow_control(key: str) -> Response[str]:
    key = path_id(key, KEY)
    return json_response(flow_control_view(api_root().flows.get(key)))


@tracer.capture_method
def pause_flow_control(key: str) -> Response[str]:
    key = path_id(key, KEY)
    api_root().flows.set_paused(key, True)
    return empty_response()


@tracer.capture_method
def resume_flow_control(key: str) -> Response[str]:
    key = path_id(key, KEY)
    api_root().flows.set_paused(key, False)
    return empty_response()


@tracer.capture_method
def pin_flow_control(key: str) -> Response[str]:
    key = path_id(key, KEY)
    request = parse(PinQuery, query())
    api_root().flows.pin(key, request.parallelism, request.rate, request.period)
    return empty_response()


@tracer.capture_method
def unpin_flow_control(key: str) -> Response[str]:
    key = path_id(key, KEY)
    request = parse(UnpinQuery, query())
    api_root().flows.unpin(key, request.parallelism, request.rate)
    return empty_response()


@tracer.capture_method
def reset_flow_control_rate(key: str) -> Response[str]:
    key = path_id(key, KEY)
    api_root().flows.reset_rate(key)
    return empty_response()


@tracer.capture_method
def global_parallelism() -> Response[str]:
    maximum, count = api_root().flows.global_parallelism()
    return json_response(GlobalParallelismView(parallelism_max=maximum, parallelism_count=count))
