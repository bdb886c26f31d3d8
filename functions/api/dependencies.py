"""Wiring of the API function: services built once per process from the settings."""

from __future__ import annotations

from functools import cache

from functions.api.auth import TokenSet, token_set_from_secret
from functions.events.service import EventService
from functions.flow.repository import FlowRepository
from functions.flow.service import FlowService
from functions.keys.service import SigningKeyStore
from functions.limits.repository import CounterRepository
from functions.limits.service import RateLimiter
from functions.messages.publish import validate_destination
from functions.messages.service import MessageService
from functions.queues.service import QueueService
from functions.schedules.service import ScheduleService
from functions.shared.config import get_settings
from functions.shared.secrets import get_json_secret
from functions.topics.repository import TopicRepository
from functions.topics.service import TopicService
from functions.wiring import (
    build_message_service,
    build_queue_service,
    build_schedule_service,
    events_repository,
    repositories,
)


@cache
def message_service() -> MessageService:
    return build_message_service(get_settings())


@cache
def queue_service() -> QueueService:
    return build_queue_service(get_settings())


@cache
def schedule_service() -> ScheduleService:
    return build_schedule_service(get_settings(), message_service(), queue_service().ensure)


@cache
def flow_service() -> FlowService:
    settings = get_settings()
    messages, _ = repositories(settings)
    return FlowService(FlowRepository(settings.counters_table), messages.pending)


@cache
def topic_service() -> TopicService:
    settings = get_settings()

    def validate_url(url: str) -> str:
        return validate_destination(url, addresses=settings.address_policy)

    return TopicService(TopicRepository(settings.topics_table), validate_url)


@cache
def event_service() -> EventService:
    settings = get_settings()
    messages, _ = repositories(settings)
    return EventService(events_repository(settings), bodies=messages.store.logged_bodies)


@cache
def rate_limiter() -> RateLimiter:
    settings = get_settings()
    return RateLimiter(
        CounterRepository(settings.counters_table), settings.rate_limit_requests, settings.rate_limit_window_seconds
    )


@cache
def signing_keys() -> SigningKeyStore:
    return SigningKeyStore(get_settings().signing_keys_secret_id)


def api_tokens() -> TokenSet:
    """The tokens that may call the API, full-access and read-only, from the secret (cached); the secret's shape
    is described in `functions/api/auth.py`."""
    settings = get_settings()
    return token_set_from_secret(get_json_secret(settings.auth_secret_id, settings.secret_cache_seconds))
