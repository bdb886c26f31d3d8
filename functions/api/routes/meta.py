"""The API's own description: the OpenAPI document (functions/api/openapi.py), public."""

from aws_lambda_powertools.event_handler import Response

from functions.api.openapi import document_json
from functions.api.resolver import feature_router
from functions.shared.config import get_settings

router = feature_router()


def openapi_document() -> Response[str]:
    """The OpenAPI document; local mode also serves a Swagger UI page of it."""
    return Response(status_code=200, content_type="application/json", body=document_json(get_settings()))
