"""Adapters built from the settings, shared by the API and worker functions."""

from __future__ import annotations

from collections.abc import Callable

from functions.delivery.queue import SchedulerDelays, SqsDeliveryQueue
from functions.dlq.repository import DlqRepository
from functions.events.repository import EventRepository
from functions.flow.repository import FlowRepository
from functions.messages.bodies import S3BodyStore
from functions.messages.publish import PublishLimits
from functions.messages.repository import MessageRepository
from functions.messages.service import MessageService
from functions.queues.dispatcher import Dispatcher
from functions.queues.repository import QueueRepository
from functions.queues.service import QueueService
from functions.schedules.repository import ScheduleRepository
from functions.schedules.service import ScheduleService
from functions.schedules.triggers import SchedulerTriggers
from functions.shared.config import Settings
from functions.topics.repository import TopicRepository


def delivery_queue(settings: Settings) -> SqsDeliveryQueue:
    delays = SchedulerDelays(settings.schedule_group, settings.scheduler_role_arn, settings.delivery_queue_url)
    return SqsDeliveryQueue(settings.delivery_queue_url, delays)


def repositories(settings: Settings) -> tuple[MessageRepository, DlqRepository]:
    bodies = S3BodyStore(settings.bodies_bucket)
    messages = MessageRepository(
        settings.messages_table,
        bodies,
        settings.inline_body_bytes,
        events_repository(settings),
        QueueRepository(settings.queues_table),
    )
    return messages, DlqRepository(settings.dlq_table, bodies)


def dispatcher(settings: Settings, messages: MessageRepository) -> Dispatcher:
    return Dispatcher(messages, QueueRepository(settings.queues_table), delivery_queue(settings))


def events_repository(settings: Settings) -> EventRepository:
    return EventRepository(settings.events_table, settings.log_retention_seconds)


def build_schedule_service(
    settings: Settings, publisher: MessageService, ensure_queue: Callable[[str], object]
) -> ScheduleService:
    triggers = SchedulerTriggers(settings.schedule_group, settings.scheduler_role_arn, settings.worker_function_arn)
    messages, _ = repositories(settings)
    return ScheduleService(ScheduleRepository(settings.schedules_table), triggers, publisher, messages, ensure_queue)


def build_message_service(settings: Settings) -> MessageService:
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
    )


def build_queue_service(settings: Settings) -> QueueService:
    messages, _ = repositories(settings)
    return QueueService(
        QueueRepository(settings.queues_table),
        messages,
        dispatcher(settings, messages),
        settings.max_queue_parallelism,
        settings.message_retention_seconds,
    )
