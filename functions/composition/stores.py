"""The stores and AWS adapters of one composition root, built from the settings on first use, once each.

What delivering a message needs is imported here; the stores only the API or a cron firing uses (topics, rate-limit
counters, schedules and their triggers) are imported when first built, so that the worker's cold start does not
load them for a delivery.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from functions.events.repository import EventRepository
from functions.flow.repository import FlowRepository
from functions.queues.dispatcher import Dispatcher
from functions.shared.config import Settings
from functions.stores.bodies import S3BodyStore
from functions.stores.delivery_queue import SchedulerDelays, SqsDeliveryQueue
from functions.stores.dlq import DlqRepository
from functions.stores.message_stores import MessageStores
from functions.stores.queues import QueueRepository

if TYPE_CHECKING:
    from functions.limits.repository import CounterRepository
    from functions.schedules.repository import ScheduleRepository
    from functions.schedules.triggers import SchedulerTriggers
    from functions.topics.repository import TopicRepository


class Stores:
    """One object per store: the services of a root that use a store share it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def bodies(self) -> S3BodyStore:
        return S3BodyStore(self.settings.bodies_bucket)

    @cached_property
    def queues(self) -> QueueRepository:
        return QueueRepository(self.settings.queues_table)

    @cached_property
    def messages(self) -> MessageStores:
        settings = self.settings
        return MessageStores.build(
            settings.messages_table,
            self.bodies,
            settings.inline_body_bytes,
            settings.log_retention_seconds,
            self.queues,
        )

    @cached_property
    def dlq(self) -> DlqRepository:
        return DlqRepository(self.settings.dlq_table, self.bodies)

    @cached_property
    def delivery_queue(self) -> SqsDeliveryQueue:
        settings = self.settings
        delays = SchedulerDelays(settings.schedule_group, settings.scheduler_role_arn, settings.delivery_queue_url)
        return SqsDeliveryQueue(settings.delivery_queue_url, delays)

    @cached_property
    def dispatcher(self) -> Dispatcher:
        return Dispatcher(self.messages.slots, self.queues, self.delivery_queue)

    @cached_property
    def flows(self) -> FlowRepository:
        return FlowRepository(self.settings.counters_table)

    @cached_property
    def events(self) -> EventRepository:
        return EventRepository(self.settings.messages_table, self.settings.log_retention_seconds)

    @cached_property
    def topics(self) -> TopicRepository:
        from functions.topics.repository import TopicRepository

        return TopicRepository(self.settings.topics_table)

    @cached_property
    def counters(self) -> CounterRepository:
        from functions.limits.repository import CounterRepository

        return CounterRepository(self.settings.counters_table)

    @cached_property
    def schedules(self) -> ScheduleRepository:
        from functions.schedules.repository import ScheduleRepository

        return ScheduleRepository(self.settings.schedules_table)

    @cached_property
    def triggers(self) -> SchedulerTriggers:
        from functions.schedules.triggers import SchedulerTriggers

        settings = self.settings
        return SchedulerTriggers(settings.schedule_group, settings.scheduler_role_arn, settings.worker_function_arn)
