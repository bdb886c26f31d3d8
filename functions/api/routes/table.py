"""Every route of the API, once: method, path, handler, who may call it, and what the OpenAPI document says of it.

The resolver's registration (functions/api/app.py), API Gateway's routes (infra/constructs/api.py), the OpenAPI
document (functions/api/openapi.py), the read-only token's refusals (functions/api/auth.py) and the auth matrix
test read this table. Each `tag` is a feature, served by one Router (functions/api/app.py `ROUTERS`).
The rows are written in two files by area (`table_messages.py`, `table_resources.py`). Importing the table reads
no settings and builds no client: the CDK app imports it.
"""

from __future__ import annotations

from functions.api.route_spec import Caller, Route
from functions.api.routes.table_messages import MESSAGE_ROUTES
from functions.api.routes.table_resources import RESOURCE_ROUTES
from functions.api.schemas import OPENAPI_PATH

__all__ = ["OPENAPI_PATH", "ROUTES", "Caller", "Route", "routed"]

ROUTES: tuple[Route, ...] = MESSAGE_ROUTES + RESOURCE_ROUTES


def routed(routes: tuple[Route, ...] = ROUTES) -> list[Route]:
    """The routes the resolver serves, in the table's order."""
    return [r for r in routes if r.routed]
