"""The API function behind its front door (infra/constructs/front_door.py): publish, messages, events, DLQ, groups,
queues, schedules, flow control, keys."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from functions.api.routes.table import ROUTES as API_ROUTES
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

# The function routes and authenticates each request itself; these only decide what reaches it: every route of the
# route table (functions/api/routes/table.py), in API Gateway's path syntax (`{name}`, a greedy `{name+}`).
ROUTES: tuple[tuple[apigwv2.HttpMethod, str], ...] = tuple((apigwv2.HttpMethod[r.method], r.path) for r in API_ROUTES)
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
