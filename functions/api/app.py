"""The resolver with every feature's Router, registered from the route table, and the error mapping."""

from __future__ import annotations

from types import ModuleType

from functions.api.errors import register_error_handlers
from functions.api.resolver import app
from functions.api.route_spec import resolver_rule
from functions.api.routes import console, dlq, events, flow, keys, messages, meta, publish, queues, schedules, topics
from functions.api.routes.table import ROUTES

__all__ = ["ROUTERS", "app"]

# The module of each tag's routes: its `router`, and a function per route named as the table's `handler`.
ROUTERS: dict[str, ModuleType] = {
    "meta": meta,
    "console": console,
    "publish": publish,
    "messages": messages,
    "logs": events,
    "dlq": dlq,
    "keys": keys,
    "url groups": topics,
    "queues": queues,
    "schedules": schedules,
    "flow control": flow,
}


def _include_routers() -> None:
    """Each route on its feature's Router, in the table's order (the resolver tries static rules first, then the
    dynamic ones in that order); each Router into the resolver."""
    for tag, module in ROUTERS.items():
        for route in ROUTES:
            if route.tag == tag:
                rule = resolver_rule(route, ROUTES)
                module.router.route(rule, list(route.methods))(getattr(module, route.handler))
        app.include_router(module.router)


_include_routers()
register_error_handlers(app)
