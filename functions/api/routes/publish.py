"""Publishing: to a URL or a URL group, into a FIFO queue, many at once."""

# No `from __future__ import annotations`: the resolver reads the route signatures at runtime.

import re

from aws_lambda_powertools.event_handler import Response

from functions.api.incoming import caller_ip, headers, path, raw_body, raw_query, require_json_content_type
from functions.api.requests import parse_batch
from functions.api.resolver import feature_router
from functions.api.responses import json_response
from functions.api.root import api_root
from functions.messages.service import BatchItem, PublishInput, PublishOutcome
from functions.messages.views import PublishResponse
from functions.shared.errors import BadRequestError
from functions.shared.observability import count, tracer

router = feature_router()
PUBLISH_PREFIX = "/v2/publish/"
ENQUEUE = re.compile(r"^/v2/enqueue/(?P<queue>[^/]+)/(?P<destination>.+)$")


@tracer.capture_method
def publish() -> Response[str]:
    publish = PublishInput(path()[len(PUBLISH_PREFIX) :], raw_query(), headers(), raw_body(), caller_ip())
    return publish_response(api_root().messages.publish(publish))


@tracer.capture_method
def enqueue() -> Response[str]:
    """Publish into a FIFO queue (created with parallelism 1 when it does not exist)."""
    match = ENQUEUE.match(path())
    if match is None:
        raise BadRequestError("use /v2/enqueue/{queue}/{destination}")
    publish = PublishInput(match["destination"], raw_query(), headers(), raw_body(), caller_ip())
    return publish_response(api_root().messages.enqueue(match["queue"], publish))


@tracer.capture_method
def batch() -> Response[str]:
    """Many publishes in one request; every entry is validated before any is stored. One answer per entry: an
    object for a URL, a list for a URL group."""
    require_json_content_type()
    items = [
        BatchItem(entry.destination, {k.lower(): v for k, v in (entry.headers or {}).items()}, entry.body, entry.queue)
        for entry in parse_batch(raw_body())
    ]
    outcomes = api_root().messages.publish_batch(items, caller_ip())
    _count_created(outcomes)
    return json_response([publish_view(o) for o in outcomes])


def publish_view(outcome: PublishOutcome) -> PublishResponse | list[PublishResponse]:
    """One object for a URL; a bare list (one per endpoint) for a URL group, as the SDKs expect."""
    views = [
        PublishResponse(message_id=p.message_id, url=p.url, deduplicated=True if p.deduplicated else None)
        for p in outcome.published
    ]
    return views if outcome.to_group else views[0]


def publish_response(outcome: PublishOutcome) -> Response[str]:
    created = _count_created([outcome])
    status = 202 if outcome.published and not created else 200  # QStash answers a duplicate with 202
    return json_response(publish_view(outcome), status)


def _count_created(outcomes: list[PublishOutcome]) -> int:
    created = sum(not p.deduplicated for o in outcomes for p in o.published)
    if created:
        count("MessagesPublished", created)
    return created
