"""Adapters built from the settings, shared by the API and worker functions.

What delivering a message needs is imported here; the services built further down (publishing, queues, cron
schedules) are imported when first built, so that the worker's cold start does not load them for a delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from functions.events.repository import EventRepository
from functions.queues.dispatcher import Dispatcher
from functions.shared.config import Settings
from functions.stores.bodies import S3BodyStore
from functions.stores.delivery_queue import SchedulerDelays, SqsDeliveryQueue
from functions.stores.dlq import DlqRepository
from functions.stores.message_stores import MessageStores
from functions.stores.queues import QueueRepository

if TYPE_CHECKING:
    from functions.messages.service import MessageService
    from functions.queues.service import QueueService
    from functions.schedules.service import ScheduleService


def delivery_queue(settings: Settings) -> SqsDeliveryQueue:
    delays = SchedulerDelays(settings.schedule_group, settings.scheduler_role_arn, settings.delivery_queue_url)
    return SqsDeliveryQueue(settings.delivery_queue_url, delays)


def repositories(settings: Settings) -> tuple[MessageStores, DlqRepository]:
    bodies = S3BodyStore(settings.bodies_bucket)
    messages = MessageStores.build(
        settings.messages_table,
        bodies,
        settings.inline_body_bytes,
        settings.log_retention_seconds,
        QueueRepository(settings.queues_table),
    )
    return messages, DlqRepository(settings.dlq_table, bodies)


def dispatcher(settings: Settings, messages: MessageStores) -> Dispatcher:
    return Dispatcher(messages.slots, QueueRepository(settings.queues_table), delivery_queue(settings))


def events_repository(settings: Settings) -> EventRepository:
    return EventRepository(settings.messages_table, settings.log_retention_seconds)


def build_schedule_service(
    settings: Settings, publisher: MessageService, ensure_queue: Callable[[str], object]
) -> ScheduleService:
    from functions.schedules.repository import ScheduleRepository
    from functions.schedules.service import ScheduleService
    from functions.schedules.triggers import SchedulerTriggers

    triggers = SchedulerTriggers(settings.schedule_group, settings.scheduler_role_arn, settings.worker_function_arn)
    messages, _ = repositories(settings)
    return ScheduleService(
        ScheduleRepository(settings.schedules_table), triggers, publisher, messages.store, ensure_queue
    )


def build_message_service(settings: Settings) -> MessageService:
    from functions.flow.repository import FlowRepository
    from functions.messages.publish import PublishLimits
    from functions.messages.service import MessageService
    from functions.topics.repository import TopicRepository

    messages, dlq = repositories(settings)
    return MessageService(
        messages=messages,
        dlq=dlq,
        queue=delivery_queue(settings),
        limits=PublishLimits(
            default_retries=settings.default_retries,
            max_retries=settings.max_retries,
            max_body_bytes=settings.max_body_bytes,
            addresses=settings.address_policy,
            max_timeout_s=settings.max_attempt_timeout_seconds,
        ),
        retention_s=settings.message_retention_seconds,
        dedup_window_s=settings.dedup_window_seconds,
        topics=TopicRepository(settings.topics_table),
        dispatcher=dispatcher(settings, messages),
        flows=FlowRepository(settings.counters_table),
        ensure_queue=build_queue_service(settings).ensure,
    )


def build_queue_service(settings: Settings) -> QueueService:
    from functions.queues.service import QueueService

    messages, _ = repositories(settings)
    return QueueService(
        QueueRepository(settings.queues_table),
        messages,
        dispatcher(settings, messages),
        settings.max_queue_parallelism,
        settings.message_retention_seconds,
    )
