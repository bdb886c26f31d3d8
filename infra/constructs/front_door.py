"""The API's front door, as `postbox:frontDoor` chooses: API Gateway's HTTP API (default) or the API function's own
Lambda function URL. Either sends the function the same event (payload format 2.0), and the function checks the
bearer token itself either way.

- price: the HTTP API bills $1.00 per million requests; a function URL bills nothing of its own (only the function's
  requests and duration, as with either);
- throttling: the HTTP API's stage has a rate and a burst (`postbox:apiThrottleRate`, `postbox:apiThrottleBurst`;
  429 before the function runs); a function URL has none of its own, so the function's per-token rate limit
  (RATE_LIMIT_REQUESTS) and, when set, the function's reserved concurrency (`postbox:apiReservedConcurrency`; Lambda
  answers 429 above it) are what bound it;
- what reaches the function: the HTTP API forwards the routes of `ROUTES` (404 from the gateway for any other); a
  function URL forwards every path (the function answers 401 without a token, 404 for a path no route takes);
- logs: the HTTP API writes an access log line per request; a function URL has no access log (the function's log has
  a line per request);
- timeout: 30 s at most behind the HTTP API; the function's own timeout behind a function URL.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import jsii
from aws_cdk import Fn, RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.config import InfraConfig
from infra.constructs.monitoring import PERIOD

# Routes that need no token: the function answers them without checking one.
CONSOLE_ROUTES = frozenset({"/console", "/console/{asset}"})

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


@dataclass(frozen=True)
class FrontDoor:
    """What the stack's outputs and monitoring need of a front door."""

    url: str  # QSTASH_URL for clients (no trailing slash)
    requests: cloudwatch.IMetric
    client_errors: cloudwatch.IMetric
    server_errors: cloudwatch.IMetric
    latencies: Sequence[cloudwatch.IMetric]
    server_errors_meaning: str  # what the API 5xx alarm says it counts


def http_api_front_door(
    scope: Construct, config: InfraConfig, target: lambda_.IFunction, routes: Sequence[tuple[apigwv2.HttpMethod, str]]
) -> FrontDoor:
    """An HTTP API forwarding `routes` to `target`, its default stage throttled and access-logged."""
    # The default stage is made here (not by HttpApi) to set its throttling and access log; same logical ID.
    http_api = apigwv2.HttpApi(
        scope, "HttpApi", description="Postbox QStash-compatible API", create_default_stage=False
    )
    access_logs = logs.LogGroup(scope, "AccessLogs", removal_policy=RemovalPolicy.DESTROY)
    cast(logs.CfnLogGroup, access_logs.node.default_child).retention_in_days = config.log_retention_days
    http_api.add_stage(
        "DefaultStage",
        stage_name="$default",
        auto_deploy=True,
        throttle=apigwv2.ThrottleSettings(rate_limit=config.api_throttle_rate, burst_limit=config.api_throttle_burst),
        access_log_settings=_AccessLog(access_logs),
    )
    # One invoke permission for the whole API, not one per route: Lambda's resource policy holds 20 KB, and 47
    # route-scoped statements fill it (a longer stack name or region, or a few more routes, and deploy fails).
    integration = HttpLambdaIntegration(
        "Integration",
        target,
        payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
        scope_permission_to_route=False,
    )
    for method, path in routes:
        for route in http_api.add_routes(path=path, methods=[method], integration=integration):
            NagSuppressions.add_resource_suppressions(
                route, [NagPackSuppression(id="AwsSolutions-APIG4", reason=_no_authorizer_reason(path))]
            )
    return FrontDoor(
        url=http_api.api_endpoint,
        requests=http_api.metric_count(period=PERIOD, statistic="Sum", label="requests"),
        client_errors=http_api.metric_client_error(period=PERIOD, statistic="Sum", label="4xx"),
        server_errors=http_api.metric_server_error(period=PERIOD, statistic="Sum", label="5xx"),
        latencies=[
            http_api.metric_latency(period=PERIOD, statistic="p50", label="latency p50"),
            http_api.metric_latency(period=PERIOD, statistic="p99", label="latency p99"),
            http_api.metric_integration_latency(period=PERIOD, statistic="p99", label="integration p99"),
        ],
        server_errors_meaning=(
            "The HTTP API answered server errors (API function errors or timeouts, Lambda throttling)."
        ),
    )


def function_url_front_door(function: lambda_.Function, target: lambda_.IFunction) -> FrontDoor:
    """`target`'s function URL, open to anyone (the function checks the token: auth type NONE)."""
    url = target.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
    # CDK grants both what the URL needs: `lambda:InvokeFunctionUrl` with auth type NONE, and (required of function
    # URLs since October 2025) `lambda:InvokeFunction` for calls through the URL only.

    def metric(name: str, statistic: str, label: str) -> cloudwatch.Metric:
        # By function name: the URL's metrics, whether it is the function's own or its `live` alias's.
        return cloudwatch.Metric(
            namespace="AWS/Lambda",
            metric_name=name,
            dimensions_map={"FunctionName": function.function_name},
            statistic=statistic,
            period=PERIOD,
            label=label,
        )

    return FrontDoor(
        url=_without_trailing_slash(url.url),
        requests=metric("UrlRequestCount", "Sum", "requests"),
        client_errors=metric("Url4xxCount", "Sum", "4xx"),
        server_errors=metric("Url5xxCount", "Sum", "5xx"),
        latencies=[
            metric("UrlRequestLatency", "p50", "latency p50"),
            metric("UrlRequestLatency", "p99", "latency p99"),
        ],
        server_errors_meaning=(
            "The function URL answered server errors (API function errors or timeouts; Lambda throttling when the "
            "API function's reserved concurrency is spent)."
        ),
    )


def _without_trailing_slash(url: str) -> str:
    """`https://<id>.lambda-url.<region>.on.aws`: a function URL ends in `/`, which clients would double when they join
    a path to QSTASH_URL."""
    return Fn.join("", ["https://", Fn.select(2, Fn.split("/", url))])


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
