"""Adapters built from the settings, shared by the API and worker functions."""

from __future__ import annotations

from functions.delivery.queue import SchedulerDelays, SqsDeliveryQueue
from functions.dlq.repository import DlqRepository
from functions.events.repository import EventRepository
from functions.messages.bodies import S3BodyStore
from functions.messages.repository import MessageRepository
from functions.queues.dispatcher import Dispatcher
from functions.queues.repository import QueueRepository
from functions.shared.config import Settings


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
