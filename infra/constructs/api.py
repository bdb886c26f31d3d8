"""The API function behind an HTTP API (payload format 2.0): publish, messages, events, DLQ, groups, queues,
schedules, flow control, keys."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import cast

import jsii
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from functions.shared.resources import (
    COUNTERS_TABLE,
    DLQ_TABLE,
    EVENTS_TABLE,
    MESSAGES_TABLE,
    QUEUES_TABLE,
    SCHEDULES_TABLE,
    TOPICS_TABLE,
    TableDef,
)
from infra.config import InfraConfig
from infra.constructs.function import ServiceFunction
from infra.constructs.grants import grant_read_secret, grant_send, grant_write_secret
from infra.constructs.schedules import DelaySchedules
from infra.constructs.storage import Storage, TableAccess

GET, POST, DELETE, PATCH = (
    apigwv2.HttpMethod.GET,
    apigwv2.HttpMethod.POST,
    apigwv2.HttpMethod.DELETE,
    apigwv2.HttpMethod.PATCH,
)
# The function routes and authenticates each request itself; these only decide what reaches it.
ROUTES = (
    (POST, "/v2/publish/{destination+}"),
    (POST, "/v2/enqueue/{queue}/{destination+}"),  # publish into a FIFO queue
    (POST, "/v2/batch"),
    (GET, "/v2/messages/{messageId}"),
    (GET, "/v1/messages/{id}"),  # the v1 path of a message
    (DELETE, "/v2/messages/{messageId}"),
    (DELETE, "/v2/messages"),
    (GET, "/v2/events"),
    (GET, "/v2/logs"),  # QStash's newer name for the event log
    (GET, "/v2/dlq"),
    (GET, "/v2/dlq/{dlqId}"),
    (DELETE, "/v2/dlq/{dlqId}"),
    (DELETE, "/v2/dlq"),
    (POST, "/v2/dlq/retry/{dlqId}"),
    (POST, "/v2/dlq/retry"),
    (GET, "/v2/keys"),
    (POST, "/v2/keys/rotate"),
    (POST, "/v2/topics/{name}/endpoints"),  # URL groups: QStash still calls them topics in its paths
    (DELETE, "/v2/topics/{name}/endpoints"),
    (GET, "/v2/topics"),
    (GET, "/v2/topics/{name}"),
    (DELETE, "/v2/topics/{name}"),
    (POST, "/v2/queues"),  # FIFO queues: create or update (upsert)
    (GET, "/v2/queues"),
    (GET, "/v2/queues/{queueName}"),
    (DELETE, "/v2/queues/{queueName}"),
    (POST, "/v2/queues/{queueName}/pause"),
    (POST, "/v2/queues/{queueName}/resume"),
    (POST, "/v2/schedules/{destination+}"),  # cron schedules (EventBridge Scheduler, invoking the worker)
    (GET, "/v2/schedules"),
    (GET, "/v2/schedules/{scheduleId}"),
    (DELETE, "/v2/schedules/{scheduleId}"),
    (PATCH, "/v2/schedules/{scheduleId}/pause"),  # pause and resume take either method
    (POST, "/v2/schedules/{scheduleId}/pause"),
    (PATCH, "/v2/schedules/{scheduleId}/resume"),
    (POST, "/v2/schedules/{scheduleId}/resume"),
    (GET, "/v2/flowControl"),  # flow-control keys: list, inspect, pause/resume, pin/unpin parallelism, reset rate
    (GET, "/v2/flowControl/{key}"),
    (POST, "/v2/flowControl/{key}/pause"),
    (POST, "/v2/flowControl/{key}/resume"),
    (POST, "/v2/flowControl/{key}/pin"),
    (POST, "/v2/flowControl/{key}/unpin"),
    (POST, "/v2/flowControl/{key}/resetRate"),
    (GET, "/v2/globalParallelism"),
    (GET, "/console"),  # the web console's page and files (functions/api/console): public, they hold no data
    (GET, "/console/{asset}"),
    (GET, "/openapi.json"),  # the API's OpenAPI document (functions/api/openapi.py): public, as QStash's is
)
# Routes that need no token: the function answers them without checking one.
CONSOLE_ROUTES = frozenset({"/console", "/console/{asset}"})
PUBLIC_ROUTES = CONSOLE_ROUTES | {"/openapi.json"}

# One JSON line per request. No path, query string or header: the path holds destination URLs and the query string
# may hold the token (`?qstash_token=`); the route key says which route was hit.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTime",
        "ip": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationStatus": "$context.integrationStatus",
        "integrationLatency": "$context.integrationLatency",
        "integrationError": "$context.integration.error",
        "error": "$context.error.message",
    },
    separators=(",", ":"),
)


API_TABLE_ACCESS: dict[TableDef, TableAccess] = {
    MESSAGES_TABLE: "read_write",
    DLQ_TABLE: "read_write",  # entries are deleted by hand and when replayed
    EVENTS_TABLE: "read_write",  # CREATED / CANCELED events; serves /v2/events
    COUNTERS_TABLE: "read_write",  # rate-limit windows (UpdateItem ADD); flow-control keys
    TOPICS_TABLE: "read_write",  # URL groups: add/remove endpoints, list, delete
    QUEUES_TABLE: "read_write",  # upsert, pause/resume, list, delete; enqueueing takes a delivery slot
    SCHEDULES_TABLE: "read_write",  # cron schedules: create, list, pause/resume, delete
}


class PostboxApi(Construct):
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
        api_token: secretsmanager.ISecret,
        signing_keys: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = ServiceFunction(
            self,
            "Handler",
            config=config,
            handler="functions.api.handler.lambda_handler",
            description="Postbox API: publish, cancel, list events; manage DLQ, URL groups, queues, schedules, keys",
            environment=environment,
            memory_mb=config.api_memory_mb,
            timeout=Duration.seconds(config.api_timeout_seconds),
        ).function
        storage.grant(self.function, API_TABLE_ACCESS)
        grant_send(self.function, delivery_queue)
        storage.grant_bodies(self.function)  # put large bodies, read them back (DLQ entries, message details)
        # Long delays (cancelling deletes the schedule), and cron schedules that invoke the worker (WORKER_FUNCTION_ARN)
        schedules.grant_manage_schedules(self.function)
        grant_read_secret(self.function, api_token)
        grant_read_secret(self.function, signing_keys)  # GET /v2/keys
        grant_write_secret(self.function, signing_keys)  # POST /v2/keys/rotate

        # The function checks the token itself (QStash clients send `Authorization: Bearer`), so no authorizer.
        # The default stage is made here (not by HttpApi) to set its throttling and access log; same logical ID.
        self.http_api = apigwv2.HttpApi(
            self, "HttpApi", description="Postbox QStash-compatible API", create_default_stage=False
        )
        self.access_logs = logs.LogGroup(self, "AccessLogs", removal_policy=RemovalPolicy.DESTROY)
        cast(logs.CfnLogGroup, self.access_logs.node.default_child).retention_in_days = config.log_retention_days
        self.stage = self.http_api.add_stage(
            "DefaultStage",
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=config.api_throttle_rate, burst_limit=config.api_throttle_burst
            ),
            access_log_settings=_AccessLog(self.access_logs),
        )
        # One invoke permission for the whole API, not one per route: Lambda's resource policy holds 20 KB, and 47
        # route-scoped statements fill it (a longer stack name or region, or a few more routes, and deploy fails).
        integration = HttpLambdaIntegration(
            "Integration",
            self.function,
            payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
            scope_permission_to_route=False,
        )
        for method, path in ROUTES:
            for route in self.http_api.add_routes(path=path, methods=[method], integration=integration):
                NagSuppressions.add_resource_suppressions(
                    route, [NagPackSuppression(id="AwsSolutions-APIG4", reason=_no_authorizer_reason(path))]
                )


def _no_authorizer_reason(path: str) -> str:
    if path == "/openapi.json":
        return (
            "Public on purpose: the API's OpenAPI document describes the routes and holds no data and no secret "
            "(QStash publishes its own); tools read it before they have a token. Only GET is routed."
        )
    if path in CONSOLE_ROUTES:
        return (
            "Public on purpose: the web console's static page, script and style (functions/api/console) hold no data "
            "and no secret. The page sends the token its user types as `Authorization: Bearer` on its calls to the "
            "API routes, which the function checks as any other call's."
        )
    return (
        "QStash clients authenticate with `Authorization: Bearer <token>` (or `qstash_token`): "
        "the API function checks the token against the ApiToken secret on every request "
        "(functions/api/auth.py authorize), answering 401/403 itself. A gateway authorizer "
        "would repeat that check at the cost of another invocation per request."
    )


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLog:
    """The stage's access log: ACCESS_LOG_FORMAT lines into `log_group`."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return apigateway.AccessLogFormat.custom(ACCESS_LOG_FORMAT)
