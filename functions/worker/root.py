"""The worker function's composition root: the delivery service, and the schedule service for cron firings, built
from the settings on first use, once each per process.

The publishing, queue and schedule services are imported when a cron firing first needs them, so that the
worker's cold start does not load them for a delivery.
"""

from __future__ import annotations

from functools import cache, cached_property
from typing import TYPE_CHECKING

from functions.composition.stores import Stores
from functions.delivery.http import HttpSender
from functions.delivery.service import DeliveryPolicy, DeliveryService
from functions.flow.limiter import FlowLimiter
from functions.shared.config import Settings, get_settings
from functions.shared.secrets import get_json_secret

if TYPE_CHECKING:
    from functions.schedules.service import ScheduleService


class WorkerRoot:
    def __init__(self, settings: Settings, stores: Stores | None = None) -> None:
        self.settings = settings
        self.stores = stores or Stores(settings)

    def current_signing_key(self) -> str:
        settings = self.settings
        return str(get_json_secret(settings.signing_keys_secret_id, settings.secret_cache_seconds)["current"])

    @cached_property
    def delivery(self) -> DeliveryService:
        settings, stores = self.settings, self.stores
        return DeliveryService(
            messages=stores.messages,
            dlq=stores.dlq,
            queue=stores.delivery_queue,
            sender=HttpSender(settings.address_policy),
            policy=DeliveryPolicy(
                attempt_timeout_s=settings.max_attempt_timeout_seconds,
                default_timeout_s=settings.attempt_timeout_seconds,
                claim_margin_s=settings.claim_margin_seconds,
                retention_s=settings.message_retention_seconds,
                dlq_retention_s=settings.dlq_retention_seconds,
            ),
            signing_key=self.current_signing_key,
            dispatcher=stores.dispatcher,
            flows=FlowLimiter(stores.flows),
        )

    @cached_property
    def schedules(self) -> ScheduleService:
        from functions.composition import publishing

        ensure_queue = publishing.queue_service(self.stores).ensure
        messages = publishing.message_service(self.stores, ensure_queue)
        return publishing.schedule_service(self.stores, messages, ensure_queue)


@cache
def worker_root() -> WorkerRoot:
    """The process's root, built from the settings on first use; `worker_root.cache_clear()` drops it (the
    environment changed)."""
    return WorkerRoot(get_settings())
