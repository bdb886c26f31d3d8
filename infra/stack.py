"""PostboxStack: tables, buckets, queues, schedules, secrets, the API and the worker, their alarms and dashboard, and
the outputs to use them."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from functions.shared.resources import (
    BODIES_BUCKET,
    DELAY_SCHEDULES,
    DELIVERY_QUEUE,
    DLQ_TABLE,
    MESSAGES_TABLE,
    TABLES,
)
from infra.config import InfraConfig
from infra.constructs.api import PostboxApi
from infra.constructs.monitoring import PostboxMonitoring
from infra.constructs.queues import DeliveryQueues
from infra.constructs.schedules import DelaySchedules
from infra.constructs.secrets import ServiceSecrets
from infra.constructs.storage import Storage
from infra.constructs.worker import DeliveryWorker

FEATURE_FLAGS = (
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy",
    # A function's published version (SnapStart) changes with its layer too, not only with its own properties.
    "@aws-cdk/aws-lambda:recognizeLayerVersion",
)


class PostboxStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: InfraConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description="Postbox: QStash-compatible HTTP message delivery", **kwargs)
        Tags.of(self).add("project", "postbox")
        # Set here, not in cdk.json, so that every app building the stack (the tests') builds the same one. S3 may
        # write server access logs by the log bucket's policy, not by an ACL (the log bucket enforces object ownership).
        for flag in FEATURE_FLAGS:
            self.node.set_context(flag, True)

        storage = Storage(self, "Storage", log_retention_days=config.log_retention_days)
        queues = DeliveryQueues(self, "Queues")
        schedules = DelaySchedules(self, "Schedules", delivery_queue=queues.queue)
        secrets = ServiceSecrets(self, "Secrets")

        # Every variable of functions.shared.config.Settings without a default; secrets by ARN, never by value.
        # The API alone gets WORKER_FUNCTION_ARN too (below).
        environment = {
            **{definition.env_var: storage.table(definition).table_name for definition in TABLES},
            DELIVERY_QUEUE.env_var: queues.queue.queue_url,
            BODIES_BUCKET.env_var: storage.bodies_bucket.bucket_name,
            DELAY_SCHEDULES.env_var: schedules.group_name,
            DELAY_SCHEDULES.role_env_var: schedules.role.role_arn,
            "AUTH_SECRET_ID": secrets.api_token.secret_arn,
            "SIGNING_KEYS_SECRET_ID": secrets.signing_keys.secret_arn,
            **config.function_environment,
        }
        # The worker comes first: the API names it as the target of the cron schedules it creates (WORKER_FUNCTION_ARN),
        # and the worker must never reference the API, or the two would depend on each other.
        worker = DeliveryWorker(
            self,
            "Worker",
            config=config,
            environment=environment,
            storage=storage,
            delivery_queue=queues.queue,
            schedules=schedules,
            signing_keys=secrets.signing_keys,
        )
        # Cron schedules and the sweep invoke the worker as the scheduler role
        schedules.allow_invoke(worker.target)
        api = PostboxApi(
            self,
            "Api",
            config=config,
            environment={**environment, "WORKER_FUNCTION_ARN": worker.target.function_arn},
            storage=storage,
            delivery_queue=queues.queue,
            schedules=schedules,
            api_token=secrets.api_token,
            signing_keys=secrets.signing_keys,
        )
        monitoring = PostboxMonitoring(
            self,
            "Monitoring",
            config=config,
            front_door=api.front_door,
            api_function=api.function,
            worker_function=worker.function,
            delivery_queue=queues.queue,
            redrive_queue=queues.redrive_queue,
        )

        CfnOutput(self, "ApiUrl", value=api.front_door.url, description="QSTASH_URL for clients")
        CfnOutput(self, "MessagesTableName", value=storage.table(MESSAGES_TABLE).table_name)
        CfnOutput(self, "DlqTableName", value=storage.table(DLQ_TABLE).table_name)
        CfnOutput(self, "DeliveryQueueUrl", value=queues.queue.queue_url)
        CfnOutput(self, "DeliveryRedriveQueueUrl", value=queues.redrive_queue.queue_url)
        CfnOutput(self, "BodiesBucketName", value=storage.bodies_bucket.bucket_name)
        CfnOutput(self, "ScheduleGroupName", value=schedules.group_name)
        CfnOutput(self, "ApiTokenSecretArn", value=secrets.api_token.secret_arn, description="QSTASH_TOKEN: `token`")
        CfnOutput(self, "SigningKeysSecretArn", value=secrets.signing_keys.secret_arn)
        CfnOutput(self, "AlarmTopicArn", value=monitoring.topic.topic_arn, description="subscribe to get the alarms")
        CfnOutput(self, "DashboardName", value=monitoring.dashboard.dashboard_name)
        CfnOutput(self, "DashboardUrl", value=monitoring.dashboard_url)
