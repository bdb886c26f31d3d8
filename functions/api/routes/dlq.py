"""The DLQ: list, read, delete and replay entries, one or a filtered page."""

# No `from __future__ import annotations`: the resolver reads the route signatures at runtime.

from aws_lambda_powertools.event_handler import Response

from functions.api.incoming import json_body, query
from functions.api.requests import DlqQuery, Order, parse, path_id
from functions.api.resolver import feature_router
from functions.api.responses import empty_response, json_response
from functions.api.root import api_root
from functions.messages.views import DeletedView, DlqListView, PublishedView, RetriedView, dlq_message_view
from functions.shared.observability import tracer

router = feature_router()


@tracer.capture_method
def list_dlq() -> Response[str]:
    request = parse(DlqQuery, query())
    page = api_root().messages.list_dlq(
        request.dlq_ids,
        request.to_filter(),
        count=request.count,
        cursor=request.cursor,
        newest_first=request.order == Order.LATEST_FIRST,
    )
    return json_response(DlqListView(messages=[dlq_message_view(e) for e in page.entries], cursor=page.cursor))


@tracer.capture_method
def get_dlq_message(dlq_id: str) -> Response[str]:
    dlq_id = path_id(dlq_id, "dlq id")
    return json_response(dlq_message_view(api_root().messages.get_dlq(dlq_id)))


@tracer.capture_method
def delete_dlq_message(dlq_id: str) -> Response[str]:
    dlq_id = path_id(dlq_id, "dlq id")
    api_root().messages.delete_dlq(dlq_id)
    return empty_response()


@tracer.capture_method
def delete_dlq_messages() -> Response[str]:
    request = parse(DlqQuery, query(), json_body())
    deleted, cursor = api_root().messages.delete_dlq_many(
        request.dlq_ids,
        request.to_filter(),
        count=request.count,
        cursor=request.cursor,
        newest_first=request.order == Order.LATEST_FIRST,
    )
    return json_response(DeletedView(deleted=deleted, cursor=cursor))


@tracer.capture_method
def retry_dlq_message(dlq_id: str) -> Response[str]:
    dlq_id = path_id(dlq_id, "dlq id")
    return json_response(PublishedView(message_id=api_root().messages.retry_dlq(dlq_id)), 201)


@tracer.capture_method
def retry_dlq_messages() -> Response[str]:
    request = parse(DlqQuery, query(), json_body())
    replayed, cursor = api_root().messages.retry_dlq_many(
        request.dlq_ids,
        request.to_filter(),
        count=request.count,
        cursor=request.cursor,
        newest_first=request.order == Order.LATEST_FIRST,
    )
    return json_response(RetriedView(responses=[PublishedView(message_id=i) for i in replayed], cursor=cursor), 201)
