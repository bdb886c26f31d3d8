"""The services both roots build: publishing, queues and cron schedules (the worker fires schedules)."""

from __future__ import annotations

from collections.abc import Callable

from functions.composition.stores import Stores
from functions.messages.publish import PublishLimits
from functions.messages.service import MessageService
from functions.queues.service import QueueService
from functions.schedules.service import ScheduleService


def message_service(stores: Stores, ensure_queue: Callable[[str], object]) -> MessageService:
    settings = stores.settings
    return MessageService(
        messages=stores.messages,
        dlq=stores.dlq,
        queue=stores.delivery_queue,
        limits=PublishLimits(
            default_retries=settings.default_retries,
            max_retries=settings.max_retries,
            max_body_bytes=settings.max_body_bytes,
            addresses=settings.address_policy,
            max_timeout_s=settings.max_attempt_timeout_seconds,
        ),
        retention_s=settings.message_retention_seconds,
        dedup_window_s=settings.dedup_window_seconds,
        topics=stores.topics,
        dispatcher=stores.dispatcher,
        flows=stores.flows,
        ensure_queue=ensure_queue,
    )


def queue_service(stores: Stores) -> QueueService:
    settings = stores.settings
    return QueueService(
        stores.queues,
        stores.messages,
        stores.dispatcher,
        settings.max_queue_parallelism,
        settings.message_retention_seconds,
    )


def schedule_service(
    stores: Stores, publisher: MessageService, ensure_queue: Callable[[str], object]
) -> ScheduleService:
    return ScheduleService(stores.schedules, stores.triggers, publisher, stores.messages.store, ensure_queue)
