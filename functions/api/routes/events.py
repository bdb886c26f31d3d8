"""The event log, under both of its names."""

# No `from __future__ import annotations`: the resolver reads the route signatures at runtime.

from typing import Any

from aws_lambda_powertools.event_handler import Response

from functions.api.incoming import query
from functions.api.requests import EventQuery, Order, parse
from functions.api.resolver import feature_router
from functions.api.responses import json_response
from functions.api.root import api_root
from functions.events.views import EventsView, LogsView, log_entry_view
from functions.shared.observability import tracer

router = feature_router()


@tracer.capture_method
def list_events() -> Response[str]:
    """The log as every SDK reads it: `{"events", "cursor"?}`, up to 1000 per page."""
    request = parse(EventQuery, query())
    page = _events_page(request, default=1000, maximum=1000)
    return json_response(EventsView(events=[log_entry_view(e) for e in page.events], cursor=page.cursor))


@tracer.capture_method
def list_logs() -> Response[str]:
    """The same log as documented since 2025: `{"logs", "cursor"?}`, up to 100 per page."""
    request = parse(EventQuery, query())
    page = _events_page(request, default=100, maximum=100)
    return json_response(LogsView(logs=[log_entry_view(e) for e in page.events], cursor=page.cursor))


def _events_page(request: EventQuery, *, default: int, maximum: int) -> Any:
    return api_root().events.list(
        request.to_filter(),
        count=request.page_size(default, maximum),
        cursor=request.cursor,
        newest_first=request.order == Order.LATEST_FIRST,
    )
