"""The signing keys: read and rotate."""

# No `from __future__ import annotations`: the resolver reads the route signatures at runtime.

from aws_lambda_powertools.event_handler import Response

from functions.api.resolver import feature_router
from functions.api.responses import json_response
from functions.api.root import api_root
from functions.messages.views import SigningKeysView
from functions.shared.observability import logger, tracer

router = feature_router()


@tracer.capture_method
def get_keys() -> Response[str]:
    keys = api_root().signing_keys.get()
    return json_response(SigningKeysView(current=keys.current, next=keys.next))


@tracer.capture_method
def rotate_keys() -> Response[str]:
    keys = api_root().signing_keys.rotate()
    logger.info("signing keys rotated")
    return json_response(SigningKeysView(current=keys.current, next=keys.next))
