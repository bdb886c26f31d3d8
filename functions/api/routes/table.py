"""Every route of the API, once: method, path, handler, who may call it, and what the OpenAPI document says of it.

The resolver's registration (functions/api/app.py), API Gateway's routes (infra/constructs/api.py), the OpenAPI
document (functions/api/openapi.py), the read-only token's refusals (functions/api/auth.py) and the auth matrix
test read this table. Each `tag` is a feature, served by one Router (functions/api/app.py `ROUTERS`).
The rows are written in two files by area (`table_messages.py`, `table_resources.py`). Importing the table reads
no settings and builds no client: the CDK app imports it.
"""

from __future__ import annotations

from functions.api.route_spec import Caller, Route, resolver_rule, rule_pattern
from functions.api.routes.table_messages import MESSAGE_ROUTES
from functions.api.routes.table_resources import RESOURCE_ROUTES
from functions.api.schemas import OPENAPI_PATH

__all__ = ["OPENAPI_PATH", "ROUTES", "Caller", "Route", "is_public"]

ROUTES: tuple[Route, ...] = MESSAGE_ROUTES + RESOURCE_ROUTES


_PATTERNS = tuple((route, rule_pattern(resolver_rule(route, ROUTES))) for route in ROUTES)


def is_public(method: str, path: str) -> bool:
    """Whether a request goes to a public route whatever the resolver's order: its method and path match a public
    route's rule and no other route's."""
    rows = [(route, pattern) for route, pattern in _PATTERNS if method in route.methods]
    if not any(route.caller is Caller.PUBLIC and pattern.match(path) for route, pattern in rows):
        return False  # most requests: only the few public rules are tried
    return not any(route.caller is not Caller.PUBLIC and pattern.match(path) for route, pattern in rows)
