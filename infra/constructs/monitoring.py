"""Alarms on what needs a person, an SNS topic they notify, and a dashboard of the service.

Alarms (each evaluated on one 5-minute period, notifying the topic when it goes off and when it recovers):
- messages dead-lettered: the worker's `Delivery_failed` metric (a message spent its retries and went to the DLQ
  table) summed over the period is above 0;
- worker errors: the worker's Lambda `Errors` above 0 (a failed invocation: crash or timeout; a record that fails
  is reported in the batch response and is not an error);
- delivery queue age: the oldest record of the delivery queue older than `postbox:queueAgeAlarmSeconds`;
- poison records: any record visible in the redrive queue (records the worker could not parse, after 5 receives);
- API 5xx: any server error answered by the front door, HTTP API or function URL (function errors and timeouts,
  Lambda throttling).

The metric names, namespace and dimension are those the functions emit through Powertools
(functions/shared/observability.py: `Metrics(service="postbox")` adds the `service` dimension, in the stack's own
namespace `Postbox/<stack name>`;
functions/worker/handler.py counts `Delivery_<outcome>`; the API counts `MessagesPublished`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import InfraConfig
from infra.constructs.function import POWERTOOLS_ENVIRONMENT, metrics_namespace

if TYPE_CHECKING:
    from infra.constructs.front_door import FrontDoor

SERVICE_DIMENSION = {"service": POWERTOOLS_ENVIRONMENT["POWERTOOLS_SERVICE_NAME"]}
# functions.delivery.service.Outcome's values, each counted by the worker as `Delivery_<value>`.
DELIVERY_OUTCOMES = ("delivered", "retry_scheduled", "failed", "canceled", "deferred", "dropped")
DEAD_LETTERED_METRIC = "Delivery_failed"  # retries spent: the message went to the DLQ table
PUBLISHED_METRIC = "MessagesPublished"
PERIOD = Duration.minutes(5)
CLOUDWATCH_SERVICE = "cloudwatch.amazonaws.com"


class PostboxMonitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: InfraConfig,
        front_door: FrontDoor,
        api_function: lambda_.IFunction,
        worker_function: lambda_.IFunction,
        delivery_queue: sqs.IQueue,
        redrive_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        stack_name = Stack.of(self).stack_name

        # Encrypted with a key of the stack's own: CloudWatch can only publish to an encrypted topic whose key policy
        # lets it use the key, which the AWS managed `aws/sns` key's policy does not.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Postbox: encrypts the alarm notifications of the AlarmTopic",
            enable_key_rotation=True,
            pending_window=Duration.days(7),
            removal_policy=RemovalPolicy.DESTROY,  # it encrypts nothing that outlives the topic
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH_SERVICE)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, `*` is this key
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        self.topic = sns.Topic(self, "AlarmTopic", display_name="Postbox alarms", master_key=key, enforce_ssl=True)
        alarms_arn = f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:{stack_name}-*"
        # A topic policy replaces SNS's default one, which would let the account's CloudWatch publish: without this
        # Allow (the policy holds only the TLS Deny otherwise), no alarm could ever notify anyone.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisStacksAlarmsToPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH_SERVICE)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": alarms_arn},
                },
            )
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        notify = cloudwatch_actions.SnsAction(self.topic)

        namespace = metrics_namespace(stack_name)
        published = _postbox_metric(namespace, PUBLISHED_METRIC, "published")
        outcomes = [_postbox_metric(namespace, f"Delivery_{outcome}", outcome) for outcome in DELIVERY_OUTCOMES]
        dead_lettered = _postbox_metric(namespace, DEAD_LETTERED_METRIC, "moved to the DLQ")
        queue_age = delivery_queue.metric_approximate_age_of_oldest_message(
            period=PERIOD, statistic="Maximum", label="oldest record (s)"
        )
        poison = redrive_queue.metric_approximate_number_of_messages_visible(
            period=PERIOD, statistic="Maximum", label="redrive queue (poison records)"
        )

        def alarm(name: str, metric: cloudwatch.IMetric, threshold: float, description: str) -> cloudwatch.Alarm:
            created = cloudwatch.Alarm(
                self,
                "".join(part.capitalize() for part in name.split("-")) + "Alarm",
                alarm_name=f"{stack_name}-{name}",
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            created.add_alarm_action(notify)
            created.add_ok_action(notify)
            return created

        self.alarms = [
            alarm(
                "messages-dead-lettered",
                dead_lettered,
                0,
                "Messages spent their retries and were moved to the DLQ (GET /v2/dlq lists them).",
            ),
            alarm(
                "worker-errors",
                worker_function.metric_errors(period=PERIOD, statistic="Sum"),
                0,
                "The worker function failed invocations (crash or timeout); its records come back after the "
                "visibility timeout. See the worker's log group.",
            ),
            alarm(
                "delivery-queue-age",
                queue_age,
                config.queue_age_alarm_seconds,
                f"The delivery queue's oldest record is older than {config.queue_age_alarm_seconds} s: the worker "
                "is not consuming the queue, or a record keeps failing.",
            ),
            alarm(
                "redrive-queue-not-empty",
                poison,
                0,
                "Records the worker could not process after 5 receives are in the redrive queue (poison records).",
            ),
            alarm(
                "api-5xx",
                front_door.server_errors,
                0,
                front_door.server_errors_meaning,
            ),
        ]

        functions = {"api": api_function, "worker": worker_function}
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=stack_name,
            default_interval=Duration.hours(3),
            widgets=[
                [
                    _graph("Messages published", [published], width=8),
                    _graph("Delivery outcomes", outcomes, width=16, stacked=True),
                ],
                [
                    _graph(
                        "Delivery queue depth",
                        [
                            delivery_queue.metric_approximate_number_of_messages_visible(
                                period=PERIOD, statistic="Maximum", label="visible"
                            ),
                            delivery_queue.metric_approximate_number_of_messages_not_visible(
                                period=PERIOD, statistic="Maximum", label="in flight"
                            ),
                            delivery_queue.metric_approximate_number_of_messages_delayed(
                                period=PERIOD, statistic="Maximum", label="delayed"
                            ),
                        ],
                        width=8,
                    ),
                    cloudwatch.GraphWidget(
                        title="Delivery queue: age of the oldest record",
                        left=[queue_age],
                        left_annotations=[
                            cloudwatch.HorizontalAnnotation(value=config.queue_age_alarm_seconds, label="alarm")
                        ],
                        width=8,
                    ),
                    _graph("DLQ additions and poison records", [dead_lettered, poison], width=8),
                ],
                [
                    _graph(
                        "Lambda errors and throttles",
                        [
                            metric
                            for name, function in functions.items()
                            for metric in (
                                function.metric_errors(period=PERIOD, statistic="Sum", label=f"{name} errors"),
                                function.metric_throttles(period=PERIOD, statistic="Sum", label=f"{name} throttles"),
                            )
                        ],
                        width=8,
                    ),
                    _graph(
                        "Lambda duration (ms)",
                        [
                            function.metric_duration(period=PERIOD, statistic=statistic, label=f"{name} {statistic}")
                            for name, function in functions.items()
                            for statistic in ("p50", "p99", "Maximum")
                        ],
                        width=8,
                    ),
                    _graph(
                        "Lambda invocations",
                        [
                            function.metric_invocations(period=PERIOD, statistic="Sum", label=name)
                            for name, function in functions.items()
                        ],
                        width=8,
                    ),
                ],
                [
                    _graph(
                        "API requests and errors",
                        [front_door.requests, front_door.client_errors, front_door.server_errors],
                        width=12,
                    ),
                    _graph("API latency (ms)", front_door.latencies, width=12),
                ],
                [cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24)],
            ],
        )
        self.dashboard_url = (
            f"https://{Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}"
            f"#dashboards:name={stack_name}"
        )


def _postbox_metric(namespace: str, name: str, label: str) -> cloudwatch.Metric:
    """A Count metric the functions emit through Powertools, summed per period."""
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=name,
        dimensions_map=SERVICE_DIMENSION,
        statistic="Sum",
        period=PERIOD,
        label=label,
    )


def _graph(
    title: str, metrics: Sequence[cloudwatch.IMetric], *, width: int, stacked: bool = False
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=list(metrics), width=width, stacked=stacked)
