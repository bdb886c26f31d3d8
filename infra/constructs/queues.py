"""The delivery queue and its redrive queue, built from functions.shared.resources.DELIVERY_QUEUE."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from functions.shared.resources import DELIVERY_QUEUE, QueueDef

MAX_RETENTION = Duration.days(14)


class DeliveryQueues(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, definition: QueueDef = DELIVERY_QUEUE) -> None:
        super().__init__(scope, construct_id)
        # A message keeps its first enqueue time when it is moved, so the redrive queue keeps messages the longest.
        self.redrive_queue = sqs.Queue(
            self,
            definition.redrive_logical_id,
            retention_period=MAX_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        self.queue = sqs.Queue(
            self,
            definition.logical_id,
            visibility_timeout=Duration.seconds(definition.visibility_timeout_seconds),
            retention_period=Duration.seconds(definition.retention_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.redrive_queue, max_receive_count=definition.max_receive_count
            ),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
