"""The API function behind its front door (infra/constructs/front_door.py): publish, messages, events, DLQ, groups,
queues, schedules, flow control, keys."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from functions.shared.resources import (
    COUNTERS_TABLE,
    DLQ_TABLE,
    MESSAGES_TABLE,
    QUEUES_TABLE,
    SCHEDULES_TABLE,
    TOPICS_TABLE,
    TableDef,
)
from infra.config import InfraConfig
from infra.constructs.front_door import function_url_front_door, http_api_front_door
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
API_TABLE_ACCESS: dict[TableDef, TableAccess] = {
    MESSAGES_TABLE: "read_write",
    DLQ_TABLE: "read_write",  # entries are deleted by hand and when replayed
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
        service = ServiceFunction(
            self,
            "Handler",
            config=config,
            handler="functions.api.handler.lambda_handler",
            description="Postbox API: publish, cancel, list events; manage DLQ, URL groups, queues, schedules, keys",
            environment=environment,
            memory_mb=config.api_memory_mb,
            timeout=Duration.seconds(config.api_timeout_seconds),
            reserved_concurrency=config.api_reserved_concurrency,
        )
        self.function, self.target = service.function, service.target
        storage.grant(self.function, API_TABLE_ACCESS)
        grant_send(self.function, delivery_queue)
        storage.grant_bodies(self.function)  # put large bodies, read them back (DLQ entries, message details)
        # Long delays (cancelling deletes the schedule), and cron schedules that invoke the worker (WORKER_FUNCTION_ARN)
        schedules.grant_manage_schedules(self.function)
        grant_read_secret(self.function, api_token)
        grant_read_secret(self.function, signing_keys)  # GET /v2/keys
        grant_write_secret(self.function, signing_keys)  # POST /v2/keys/rotate

        # The function checks the token itself (QStash clients send `Authorization: Bearer`), so no authorizer.
        if config.front_door == "functionUrl":
            self.front_door = function_url_front_door(self.function, self.target)
        else:
            self.front_door = http_api_front_door(self, config, self.target, ROUTES)
