"""The API function's composition root: its services, built from the settings on first use, once each per process.

A request builds only what it uses (listing queues does not build the publishing services); the services share
the root's stores.
"""

from __future__ import annotations

from functools import cache, cached_property

from functions.api.auth import TokenSet, token_set_from_secret
from functions.composition import publishing
from functions.composition.stores import Stores
from functions.events.service import EventService
from functions.flow.service import FlowService
from functions.keys.service import SigningKeyStore
from functions.limits.service import RateLimiter
from functions.messages.publish import validate_destination
from functions.messages.service import MessageService
from functions.queues.service import QueueService
from functions.schedules.service import ScheduleService
from functions.shared.config import Settings, get_settings
from functions.shared.secrets import get_json_secret
from functions.topics.service import TopicService


class ApiRoot:
    def __init__(self, settings: Settings, stores: Stores | None = None) -> None:
        self.settings = settings
        self.stores = stores or Stores(settings)

    @cached_property
    def messages(self) -> MessageService:
        return publishing.message_service(self.stores, self.queues.ensure)

    @cached_property
    def queues(self) -> QueueService:
        return publishing.queue_service(self.stores)

    @cached_property
    def schedules(self) -> ScheduleService:
        return publishing.schedule_service(self.stores, self.messages, self.queues.ensure)

    @cached_property
    def flows(self) -> FlowService:
        return FlowService(self.stores.flows, self.stores.messages.pending)

    @cached_property
    def topics(self) -> TopicService:
        addresses = self.settings.address_policy

        def validate_url(url: str) -> str:
            return validate_destination(url, addresses=addresses)

        return TopicService(self.stores.topics, validate_url)

    @cached_property
    def events(self) -> EventService:
        return EventService(self.stores.events, bodies=self.stores.messages.store.logged_bodies)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        settings = self.settings
        return RateLimiter(self.stores.counters, settings.rate_limit_requests, settings.rate_limit_window_seconds)

    @cached_property
    def signing_keys(self) -> SigningKeyStore:
        return SigningKeyStore(self.settings.signing_keys_secret_id)

    def tokens(self) -> TokenSet:
        """The tokens that may call the API, full-access and read-only, from the secret (cached); the secret's shape
        is described in `functions/api/auth.py`."""
        settings = self.settings
        return token_set_from_secret(get_json_secret(settings.auth_secret_id, settings.secret_cache_seconds))


@cache
def api_root() -> ApiRoot:
    """The process's root, built from the settings on first use; `api_root.cache_clear()` drops it (the
    environment changed)."""
    return ApiRoot(get_settings())
