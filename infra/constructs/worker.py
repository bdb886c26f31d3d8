"""The worker function: consumes the delivery queue in batches, reporting partial batch failures.

It also runs the recurring sweep, and fires cron schedules (which the API creates with the worker as their target).
"""

from __future__ import annotations

from collections.abc import Mapping

import jsii
from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_lambda_event_sources import SqsEventSource
from constructs import Construct

from functions.shared.resources import (
    COUNTERS_TABLE,
    DELIVERY_BATCH_SIZE,
    DLQ_TABLE,
    MESSAGES_TABLE,
    QUEUES_TABLE,
    SCHEDULES_TABLE,
    TOPICS_TABLE,
    WORKER_TIMEOUT_SECONDS,
    TableDef,
)
from infra.config import InfraConfig
from infra.constructs.function import ServiceFunction
from infra.constructs.grants import grant_read_secret, grant_send
from infra.constructs.schedules import DelaySchedules
from infra.constructs.storage import Storage, TableAccess

MAX_BATCHING_WINDOW = Duration.seconds(1)
SWEEP_EVERY = Duration.minutes(1)


WORKER_TABLE_ACCESS: dict[TableDef, TableAccess] = {
    MESSAGES_TABLE: "read_write",
    DLQ_TABLE: "read_write",
    # Flow control: a delivery takes a slot of its key and releases it when done (conditional writes).
    COUNTERS_TABLE: "read_write",
    TOPICS_TABLE: "read",  # looks up a URL group's endpoints; groups are the API's to change
    # A message's final state releases its FIFO queue's slot in the same transaction; the next one is dispatched.
    QUEUES_TABLE: "read_write",
    # A cron schedule's firing reads what the schedule publishes and records the firing on its item.
    SCHEDULES_TABLE: "read_write",
}


class DeliveryWorker(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: InfraConfig,
        environment: Mapping[str, str],
        storage: Storage,
        delivery_queue: sqs.IQueue,
        schedules: DelaySchedules,
        signing_keys: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        service = ServiceFunction(
            self,
            "Handler",
            config=config,
            handler="functions.worker.handler.lambda_handler",
            description="Postbox worker: deliver queued messages, retry, dead-letter, fire cron schedules",
            environment=environment,
            memory_mb=config.worker_memory_mb,
            timeout=Duration.seconds(WORKER_TIMEOUT_SECONDS),
            reserved_concurrency=config.worker_reserved_concurrency,
        )
        # `target` (the `live` alias with SnapStart, else the function) is what the event source and schedules invoke
        self.function, self.target = service.function, service.target
        storage.grant(self.function, WORKER_TABLE_ACCESS)
        grant_send(self.function, delivery_queue)  # retries are re-enqueued with a delay
        storage.grant_bodies(self.function)  # large bodies (claim check)
        schedules.grant_manage_schedules(self.function)  # retry backoffs longer than the queue's longest delay
        grant_read_secret(self.function, signing_keys)
        # The event source grants the consume permissions (receive, delete, change visibility).
        self.target.add_event_source(
            SqsEventSource(
                delivery_queue,
                batch_size=DELIVERY_BATCH_SIZE,
                max_batching_window=MAX_BATCHING_WINDOW,
                report_batch_item_failures=True,
                max_concurrency=config.worker_max_concurrency,
            )
        )
        # Each minute, a sweep has the pending index track messages still unfinished a minute after their creation, and
        # re-enqueues messages whose record was lost (the backstop of at-least-once). It runs as the
        # schedules' role, which may invoke the worker's target only (`schedules.allow_invoke`, called by the stack),
        # rather than a role of its own that Scheduler's LambdaInvoke target would allow every version too.
        self.sweep_schedule = scheduler.Schedule(
            self,
            "SweepSchedule",
            schedule=scheduler.ScheduleExpression.rate(SWEEP_EVERY),
            description="Postbox: track unfinished messages, re-enqueue overdue ones whose queue record was lost",
            target=_InvokeAs(self.target, schedules.role, scheduler.ScheduleTargetInput.from_object({"sweep": True})),
        )


@jsii.implements(scheduler.IScheduleTarget)
class _InvokeAs:
    """A schedule target invoking `function` as `role`, granting nothing: the role must already be allowed."""

    def __init__(self, function: lambda_.IFunction, role: iam.IRole, input: scheduler.ScheduleTargetInput) -> None:
        self._function, self._role, self._input = function, role, input

    def bind(self, _schedule: scheduler.ISchedule) -> scheduler.ScheduleTargetConfig:
        return scheduler.ScheduleTargetConfig(arn=self._function.function_arn, role=self._role, input=self._input)
