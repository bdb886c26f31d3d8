"""URL groups (QStash's topics): upsert and remove endpoints, list, read, delete."""

# No `from __future__ import annotations`: the resolver reads the route signatures at runtime.

from aws_lambda_powertools.event_handler import Response

from functions.api.incoming import json_body
from functions.api.requests import EndpointsRequest, parse
from functions.api.resolver import feature_router
from functions.api.responses import empty_response, json_response
from functions.api.root import api_root
from functions.shared.errors import BadRequestError
from functions.shared.observability import tracer
from functions.topics.models import Endpoint, validate_name
from functions.topics.views import topic_view

router = feature_router()


@tracer.capture_method
def upsert_endpoints(name: str) -> Response[str]:
    request = parse(EndpointsRequest, body=json_body())
    api_root().topics.upsert_endpoints(name, request.endpoints)
    return empty_response()


@tracer.capture_method
def remove_endpoints(name: str) -> Response[str]:
    validate_name(name)
    request = parse(EndpointsRequest, body=json_body())
    if any(not (entry.url or entry.name) for entry in request.endpoints):
        raise BadRequestError("every endpoint to remove needs a url or a name")
    api_root().topics.remove_endpoints(name, [Endpoint(url=e.url or "", name=e.name) for e in request.endpoints])
    return empty_response()


@tracer.capture_method
def list_topics() -> Response[str]:
    return json_response([topic_view(t) for t in api_root().topics.list()])


@tracer.capture_method
def get_topic(name: str) -> Response[str]:
    validate_name(name)
    return json_response(topic_view(api_root().topics.get(name)))


@tracer.capture_method
def delete_topic(name: str) -> Response[str]:
    validate_name(name)
    api_root().topics.delete(name)
    return empty_response()
