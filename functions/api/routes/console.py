"""The web console's page and files (functions/api/console): public routes, answered to GET and HEAD."""

from aws_lambda_powertools.event_handler import Response

from functions.api import console as files
from functions.api.incoming import headers, path
from functions.api.resolver import feature_router

router = feature_router()


def console() -> Response[str]:
    found = files.answer(path(), headers().get("if-none-match", ""))
    return Response(status_code=found.status, headers=dict(found.headers), body=found.body)
