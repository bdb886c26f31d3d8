"""The API's one resolver: the feature routers (functions/api/routes) are included into it by functions/api/app.py,
and the request and response helpers read the current request from it."""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

app = APIGatewayHttpResolver(enable_validation=True)


def feature_router() -> APIGatewayHttpRouter:
    """A feature's Router (a module of functions/api/routes); functions/api/app.py puts its routes on it."""
    return APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated
