"""The API function behind an HTTP API (payload format 2.0): publish, message lookup, DLQ lookup."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra.config import InfraConfig
from infra.constructs.function import ServiceFunction

ROUTES = (
    (apigwv2.HttpMethod.POST, "/v2/publish/{destination+}"),
    (apigwv2.HttpMethod.GET, "/v2/messages/{messageId}"),
    (apigwv2.HttpMethod.GET, "/v2/dlq/{dlqId}"),
)


class PostboxApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: InfraConfig,
        environment: Mapping[str, str],
        messages_table: dynamodb.ITable,
        dlq_table: dynamodb.ITable,
        delivery_queue: sqs.IQueue,
        api_token: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = ServiceFunction(
            self,
            "Handler",
            config=config,
            handler="functions.api.handler.lambda_handler",
            description="Postbox API: publish messages, read messages and DLQ entries",
            environment=environment,
            memory_mb=config.api_memory_mb,
            timeout=Duration.seconds(config.api_timeout_seconds),
        ).function
        messages_table.grant_read_write_data(self.function)
        dlq_table.grant_read_data(self.function)
        delivery_queue.grant_send_messages(self.function)
        api_token.grant_read(self.function)

        # The function checks the token itself (QStash clients send `Authorization: Bearer`), so no authorizer.
        self.http_api = apigwv2.HttpApi(self, "HttpApi", description="Postbox QStash-compatible API")
        integration = HttpLambdaIntegration(
            "Integration", self.function, payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0
        )
        for method, path in ROUTES:
            self.http_api.add_routes(path=path, methods=[method], integration=integration)
