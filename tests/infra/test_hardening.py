"""PostboxStack's hardening: cdk-nag (AwsSolutions) and cfn-lint clean, encryption and TLS everywhere, PITR,
API throttling and access logs, and the alarms and dashboard that watch the service."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Match, Template

from functions.shared.resources import DELIVERY_QUEUE, TABLES
from infra.config import (
    DEFAULT_API_THROTTLE_BURST,
    DEFAULT_API_THROTTLE_RATE,
    DEFAULT_QUEUE_AGE_ALARM_SECONDS,
    InfraConfig,
    cdk_json_context,
)
from infra.constructs.monitoring import DELIVERY_OUTCOMES, PostboxMonitoring
from infra.stack import PostboxStack

Resources = dict[str, dict[str, Any]]
PROJECT_ROOT = Path(__file__).resolve().parents[2]
NAG_RULE = Match.string_like_regexp("AwsSolutions-.*")
# Every cdk-nag rule the stack suppresses, on the only resource types it may be suppressed on. A new suppression has
# to be added here on purpose (with its reason in infra/, next to the resource).
SUPPRESSIONS = {
    "AwsSolutions-APIG4": {"AWS::ApiGatewayV2::Route"},  # the function checks the token itself; the console is public
    "AwsSolutions-IAM5": {"AWS::IAM::Role", "AWS::IAM::Policy"},  # body objects, schedules of the group (applies_to)
    "AwsSolutions-L1": {"AWS::Lambda::Function"},  # python3.12, which the layer and the bytecode are built for
    "AwsSolutions-S1": {"AWS::S3::Bucket"},  # the access-log bucket does not log itself
    "AwsSolutions-SMG4": {"AWS::SecretsManager::Secret"},  # rotated by Postbox's own schemes
}
TLS_DENY_CONDITION = {"Bool": {"aws:SecureTransport": "false"}}


def of_type(resources: Resources, resource_type: str) -> Resources:
    return {logical_id: r for logical_id, r in resources.items() if r["Type"] == resource_type}


def logical_id_of(value: dict[str, Any]) -> str:
    return str(value["Ref"]) if "Ref" in value else str(value["Fn::GetAtt"][0])


def policy_statements(resources: Resources, policy_type: str, target_key: str, target_id: str) -> list[dict[str, Any]]:
    """The statements of the resource policies (bucket, queue, topic) that apply to `target_id`."""
    found = []
    for policy in of_type(resources, policy_type).values():
        targets = policy["Properties"][target_key]
        targets = targets if isinstance(targets, list) else [targets]
        if {"Ref": target_id} in targets:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def denies_insecure_transport(statements: list[dict[str, Any]]) -> bool:
    return any(s["Effect"] == "Deny" and s.get("Condition") == TLS_DENY_CONDITION for s in statements)


# --- cdk-nag and cfn-lint ------------------------------------------------------------------------------------


def test_cdk_nag_aws_solutions_has_no_unsuppressed_finding(stack: PostboxStack) -> None:
    # Given the stack, checked by cdk-nag's AwsSolutions pack (conftest applies it to the session's app)
    annotations = Annotations.from_stack(stack)

    # When collecting its findings that are not suppressed
    errors = annotations.find_error("*", NAG_RULE)
    warnings = annotations.find_warning("*", NAG_RULE)

    # Then there are none, errors or warnings
    assert [f"{m.id}: {m.entry.data}" for m in errors] == []
    assert [f"{m.id}: {m.entry.data}" for m in warnings] == []


def test_cdk_nag_suppressions_are_few_specific_and_explained(resources: Resources) -> None:
    # Given every cdk-nag suppression in the template (NagSuppressions writes them into the resources' metadata)
    suppressed = [
        (logical_id, resource["Type"], rule)
        for logical_id, resource in resources.items()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]

    # Then only the expected rules are suppressed, each on the resource types it is about (never the whole stack)
    assert {rule["id"] for _, _, rule in suppressed} == set(SUPPRESSIONS)
    for logical_id, resource_type, rule in suppressed:
        assert resource_type in SUPPRESSIONS[rule["id"]], (logical_id, rule["id"])
        # And each says why, in more than a few words
        assert len(rule["reason"].split()) >= 12, (logical_id, rule)
        # And wildcard permissions are suppressed one by one (`applies_to`), each a resource of this stack only
        if rule["id"] == "AwsSolutions-IAM5":
            assert rule["applies_to"], logical_id
            assert all(finding.startswith("Resource::") and "<" in finding for finding in rule["applies_to"])
        else:
            assert "applies_to" not in rule, (logical_id, rule)
    # And the access-log bucket is the only bucket that logs nothing
    (unlogged,) = [logical_id for logical_id, _, rule in suppressed if rule["id"] == "AwsSolutions-S1"]
    assert "LoggingConfiguration" not in resources[unlogged]["Properties"]
    logged = {
        logical_id_of(r["Properties"]["LoggingConfiguration"]["DestinationBucketName"])
        for r in of_type(resources, "AWS::S3::Bucket").values()
        if "LoggingConfiguration" in r["Properties"]
    }
    assert logged == {unlogged}


def test_only_the_console_and_the_openapi_document_are_public(resources: Resources) -> None:
    # Given every route and the reason cdk-nag is told it has no gateway authorizer
    reasons = {
        route["Properties"]["RouteKey"]: rule["reason"]
        for route in of_type(resources, "AWS::ApiGatewayV2::Route").values()
        for rule in route["Metadata"]["cdk_nag"]["rules_to_suppress"]
        if rule["id"] == "AwsSolutions-APIG4"
    }

    # Then every route has one: the console's page and files say they are public, every other the function checks
    # the token
    assert set(reasons) == {
        route["Properties"]["RouteKey"] for route in of_type(resources, "AWS::ApiGatewayV2::Route").values()
    }
    public = {key for key, reason in reasons.items() if reason.startswith("Public on purpose")}
    assert public == {"GET /console", "GET /console/{asset}", "GET /openapi.json"}
    assert all("checks the token" in reason for key, reason in reasons.items() if key not in public)


def test_template_passes_cfn_lint(template: Template, tmp_path: Path) -> None:
    # Given the synthesized template, written as `make synth` writes it
    from cfnlint.api import ManualArgs, lint_file

    path = tmp_path / "Postbox.template.json"
    path.write_text(json.dumps(template.to_json(), indent=1))

    # When cfn-lint checks it (every rule; informational findings are advice, not problems)
    matches = lint_file(path, config=ManualArgs(regions=["us-east-1"]))
    problems = [f"{m.rule.id} {m.message} ({m.path_string})" for m in matches if m.rule.id[0] in "EW"]

    # Then it reports no error and no warning. The one rule ignored, W3005 (a redundant DependsOn that CDK adds to
    # every Lambda function on its own role), is ignored on the two functions only, by their cfn-lint metadata.
    assert problems == []
    ignored = {
        logical_id: r["Metadata"]["cfn-lint"]["config"]["ignore_checks"]
        for logical_id, r in template.to_json()["Resources"].items()
        if "cfn-lint" in r.get("Metadata", {})
    }
    assert ignored == dict.fromkeys(template.find_resources("AWS::Lambda::Function"), ["W3005"])


# --- encryption at rest and in transit, backups -------------------------------------------------------------


def test_every_table_is_encrypted_and_recoverable(resources: Resources) -> None:
    # Given every table of the stack
    tables = of_type(resources, "AWS::DynamoDB::Table")
    assert len(tables) == len(TABLES)

    for table in tables.values():
        properties = table["Properties"]
        # Then it is encrypted with the AWS managed key (explicitly: SSE on, no key of its own), has point-in-time
        # recovery, and is kept when the stack is deleted
        assert properties["SSESpecification"] == {"SSEEnabled": True}
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["DeletionPolicy"] == "Retain"


def test_every_queue_is_encrypted_and_tls_only(resources: Resources) -> None:
    # Given every queue of the stack
    queues = of_type(resources, "AWS::SQS::Queue")
    assert len(queues) == 2

    for queue_id, queue in queues.items():
        # Then it is encrypted with SQS-managed keys, and its policy denies requests without TLS
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
        assert "KmsMasterKeyId" not in queue["Properties"]
        assert denies_insecure_transport(policy_statements(resources, "AWS::SQS::QueuePolicy", "Queues", queue_id))


def test_every_bucket_is_encrypted_private_and_tls_only(resources: Resources) -> None:
    # Given every bucket of the stack (bodies, access logs)
    buckets = of_type(resources, "AWS::S3::Bucket")
    assert len(buckets) == 2

    for bucket_id, bucket in buckets.items():
        properties = bucket["Properties"]
        statements = policy_statements(resources, "AWS::S3::BucketPolicy", "Bucket", bucket_id)
        # Then it is encrypted with S3-managed keys, blocks every public access, and denies requests without TLS
        assert properties["BucketEncryption"] == {
            "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        }
        assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
        assert len(properties["PublicAccessBlockConfiguration"]) == 4
        assert denies_insecure_transport(statements)
        # And it expires what it holds, and stays when the stack is deleted
        assert properties["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] > 0
        assert bucket["DeletionPolicy"] == "Retain"
        # And the only principal it allows is S3's log delivery, for this stack's buckets' logs, into their prefix
        for statement in statements:
            if statement["Effect"] == "Allow":
                assert statement["Principal"] == {"Service": "logging.s3.amazonaws.com"}
                assert statement["Action"] == "s3:PutObject"
                assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                assert logical_id_of(statement["Condition"]["ArnLike"]["aws:SourceArn"]) in buckets


def test_alarm_topic_is_encrypted_with_a_rotated_key_cloudwatch_may_use(resources: Resources) -> None:
    # Given the alarm topic and its key
    ((topic_id, topic),) = of_type(resources, "AWS::SNS::Topic").items()
    key = resources[logical_id_of(topic["Properties"]["KmsMasterKeyId"])]

    # Then the topic is encrypted with the stack's own key, which rotates, and denies publishing without TLS
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    assert denies_insecure_transport(policy_statements(resources, "AWS::SNS::TopicPolicy", "Topics", topic_id))
    # And CloudWatch (whose alarms publish to it) may use the key to encrypt, and nothing else may but the account
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    principals = [statement["Principal"] for statement in statements]
    assert {"Service": "cloudwatch.amazonaws.com"} in principals
    cloudwatch = statements[principals.index({"Service": "cloudwatch.amazonaws.com"})]
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert all(p == {"Service": "cloudwatch.amazonaws.com"} or "AWS" in p for p in principals)


# --- the API's stage ----------------------------------------------------------------------------------------


def test_api_stage_throttles_every_route(resources: Resources, infra_config: InfraConfig) -> None:
    # Given the HTTP API's one stage
    ((_, stage),) = of_type(resources, "AWS::ApiGatewayV2::Stage").items()
    properties = stage["Properties"]

    # Then it is the auto-deployed default stage of the API, throttled at cdk.json's rate and burst
    assert properties["StageName"] == "$default"
    assert properties["AutoDeploy"] is True
    assert resources[logical_id_of(properties["ApiId"])]["Type"] == "AWS::ApiGatewayV2::Api"
    assert properties["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": infra_config.api_throttle_rate,
        "ThrottlingBurstLimit": infra_config.api_throttle_burst,
    }
    assert (infra_config.api_throttle_rate, infra_config.api_throttle_burst) == (100, 200)  # cdk.json's values


def test_api_stage_logs_access_without_paths_or_tokens(resources: Resources, infra_config: InfraConfig) -> None:
    # Given the stage's access log settings
    ((_, stage),) = of_type(resources, "AWS::ApiGatewayV2::Stage").items()
    settings = stage["Properties"]["AccessLogSettings"]
    log_group = resources[logical_id_of(settings["DestinationArn"])]

    # When reading the format of a line
    line = json.loads(settings["Format"])

    # Then each request is one JSON line in a log group kept for the configured time
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == infra_config.log_retention_days
    assert {"requestId", "routeKey", "status", "responseLatency", "integrationError"} <= line.keys()
    assert line["requestId"] == "$context.requestId"
    # And no line holds the path (destination URLs), the query string or headers (`qstash_token`, Authorization)
    assert not [value for value in line.values() if "path" in value.lower() or "header" in value.lower()]
    assert "querystring" not in settings["Format"].lower()


# --- alarms, topic, dashboard -------------------------------------------------------------------------------


def alarms_by_name(resources: Resources, infra_config: InfraConfig) -> dict[str, dict[str, Any]]:
    prefix = f"{infra_config.stack_name}-"
    return {
        r["Properties"]["AlarmName"].removeprefix(prefix): r["Properties"]
        for r in of_type(resources, "AWS::CloudWatch::Alarm").values()
    }


def single_metric(alarm: dict[str, Any]) -> dict[str, Any]:
    """An alarm's metric and statistic, whichever form CDK rendered it in (with a label, it is a `Metrics` list)."""
    if "Metrics" in alarm:
        (query,) = alarm["Metrics"]
        stat = query["MetricStat"]
        return {**stat["Metric"], "Period": stat["Period"], "Statistic": stat["Stat"]}
    return {key: alarm[key] for key in ("Namespace", "MetricName", "Dimensions", "Period", "Statistic")}


def test_every_alarm_notifies_the_topic(resources: Resources, infra_config: InfraConfig) -> None:
    # Given the alarms and the stack's one topic
    alarms = alarms_by_name(resources, infra_config)
    (topic_id,) = of_type(resources, "AWS::SNS::Topic")

    # Then there are the five expected, each notifying the topic when it goes off and when it recovers, and going off
    # on one breaching 5-minute period, missing data (no traffic) being fine
    assert set(alarms) == {
        "messages-dead-lettered",
        "worker-errors",
        "delivery-queue-age",
        "redrive-queue-not-empty",
        "api-5xx",
    }
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": topic_id}]
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["EvaluationPeriods"] == 1
        assert alarm["TreatMissingData"] == "notBreaching"
        assert single_metric(alarm)["Period"] == 300
        assert len(alarm["AlarmDescription"]) > 20


def emitted_metric(name: str, namespace: str) -> dict[str, Any]:
    """The namespace and dimensions of a Count metric as the functions' Powertools Metrics object emits it (EMF),
    in the namespace their environment gives it (POWERTOOLS_METRICS_NAMESPACE)."""
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    from functions.shared.observability import metrics

    # A provider of its own, configured like the functions' one: the shared metric set is left alone
    configured = metrics.provider
    assert isinstance(configured, AmazonCloudWatchEMFProvider)
    provider = AmazonCloudWatchEMFProvider(
        namespace=namespace,
        service=configured.service,
        default_dimensions=dict(configured.default_dimensions),
    )
    provider.add_metric(name=name, unit="Count", value=1)
    emf: Mapping[str, Any] = provider.serialize_metric_set()
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    (dimension_names,) = directive["Dimensions"]
    assert [metric["Name"] for metric in directive["Metrics"]] == [name]
    return {
        "Namespace": directive["Namespace"],
        "MetricName": name,
        "Dimensions": [{"Name": dimension, "Value": emf[dimension]} for dimension in dimension_names],
    }


def test_dead_letter_alarm_watches_the_metric_the_worker_emits(resources: Resources, infra_config: InfraConfig) -> None:
    # Given the worker's delivery outcomes: it counts `Delivery_<outcome>`, `failed` when a message goes to the DLQ
    from functions.delivery.service import Outcome

    handler = (PROJECT_ROOT / "functions" / "worker" / "handler.py").read_text()
    assert 'count(f"Delivery_{outcome.value}")' in handler
    assert Outcome.FAILED.value == "failed"
    assert {outcome.value for outcome in Outcome} == set(DELIVERY_OUTCOMES)  # the dashboard's outcomes

    # When reading the dead-letter alarm's metric
    metric = single_metric(alarms_by_name(resources, infra_config)["messages-dead-lettered"])

    # Then it is the metric emitted for a failed delivery (same namespace, name and dimensions: `service`), summed
    # over the period, and any message moved to the DLQ sets it off
    worker = next(
        r for r in of_type(resources, "AWS::Lambda::Function").values() if "worker" in r["Properties"]["Handler"]
    )
    namespace = worker["Properties"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    assert namespace == f"Postbox/{infra_config.stack_name}"
    assert {key: metric[key] for key in ("Namespace", "MetricName", "Dimensions")} == emitted_metric(
        f"Delivery_{Outcome.FAILED.value}", namespace
    )
    assert metric["Dimensions"] == [{"Name": "service", "Value": "postbox"}]
    assert metric["Statistic"] == "Sum"
    assert alarms_by_name(resources, infra_config)["messages-dead-lettered"]["Threshold"] == 0


def test_worker_queue_and_api_alarms_watch_the_right_resources(
    resources: Resources, function_ids: dict[str, str], infra_config: InfraConfig
) -> None:
    # Given the alarms, the worker, the delivery queue and its redrive queue, and the API
    alarms = alarms_by_name(resources, infra_config)
    queue_id = logical_id_of(
        resources[function_ids["worker"]]["Properties"]["Environment"]["Variables"][DELIVERY_QUEUE.env_var]
    )
    redrive_id = logical_id_of(resources[queue_id]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
    (api_id,) = of_type(resources, "AWS::ApiGatewayV2::Api")

    # Then the worker's Lambda errors go off above 0
    errors = single_metric(alarms["worker-errors"])
    assert (errors["Namespace"], errors["MetricName"], errors["Statistic"]) == ("AWS/Lambda", "Errors", "Sum")
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_ids["worker"]}}]
    assert alarms["worker-errors"]["Threshold"] == 0
    # And the delivery queue's oldest record goes off above the configured age (default 1800 s: a 900 s delay plus
    # a 900 s visibility timeout)
    age = single_metric(alarms["delivery-queue-age"])
    assert (age["Namespace"], age["MetricName"], age["Statistic"]) == (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        "Maximum",
    )
    assert age["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    assert alarms["delivery-queue-age"]["Threshold"] == infra_config.queue_age_alarm_seconds == 1800
    assert DELIVERY_QUEUE.visibility_timeout_seconds + 900 <= infra_config.queue_age_alarm_seconds
    # And any record visible in the redrive (poison) queue sets one off
    poison = single_metric(alarms["redrive-queue-not-empty"])
    assert (poison["Namespace"], poison["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert poison["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [redrive_id, "QueueName"]}}]
    assert alarms["redrive-queue-not-empty"]["Threshold"] == 0
    # And any 5xx answered by the API
    server_errors = single_metric(alarms["api-5xx"])
    assert (server_errors["Namespace"], server_errors["MetricName"]) == ("AWS/ApiGateway", "5xx")
    assert server_errors["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": api_id}}]
    assert alarms["api-5xx"]["Threshold"] == 0


def dashboard_body(resources: Resources) -> dict[str, Any]:
    """The dashboard's JSON, with each reference written as `<logical ID>` (or `<logical ID>.<attribute>`)."""
    ((_, dashboard),) = of_type(resources, "AWS::CloudWatch::Dashboard").items()
    body = dashboard["Properties"]["DashboardBody"]
    if isinstance(body, dict):
        _, parts = body["Fn::Join"]
        body = "".join(
            part
            if isinstance(part, str)
            else f"<{part['Ref']}>"
            if "Ref" in part
            else "<{}.{}>".format(*part["Fn::GetAtt"])
            for part in parts
        )
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def test_dashboard_shows_the_service(
    resources: Resources, function_ids: dict[str, str], infra_config: InfraConfig
) -> None:
    # Given the dashboard
    widgets = dashboard_body(resources)["widgets"]
    metrics = {
        title: [
            [item for item in metric if isinstance(item, str)] for metric in widget["properties"].get("metrics", [])
        ]
        for widget in widgets
        for title in [widget["properties"].get("title")]
    }
    shown = {name for lines in metrics.values() for line in lines for name in line}

    # Then it shows publishing and every delivery outcome (Postbox's metrics), the DLQ additions
    assert {f"Postbox/{infra_config.stack_name}", "MessagesPublished", "Delivery_failed"} <= shown
    assert {f"Delivery_{outcome}" for outcome in DELIVERY_OUTCOMES} <= shown
    # And the delivery queue's depth and age, and the redrive queue
    assert {
        "ApproximateNumberOfMessagesVisible",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
        "ApproximateAgeOfOldestMessage",
    } <= shown
    # And both functions' errors, throttles, duration and invocations
    assert {"Errors", "Throttles", "Duration", "Invocations"} <= shown
    assert {f"<{function_id}>" for function_id in function_ids.values()} <= shown
    # And the API's requests, 4xx, 5xx and latency
    assert {"Count", "4xx", "5xx", "Latency", "IntegrationLatency"} <= shown
    # And the state of every alarm
    (alarm_widget,) = [w for w in widgets if w["type"] == "alarm"]
    assert len(alarm_widget["properties"]["alarms"]) == len(of_type(resources, "AWS::CloudWatch::Alarm"))


def test_outputs_name_the_dashboard_and_the_topic(template: Template, resources: Resources) -> None:
    # Given the stack's outputs
    outputs = template.find_outputs("*")
    (dashboard_id,) = of_type(resources, "AWS::CloudWatch::Dashboard")
    (topic_id,) = of_type(resources, "AWS::SNS::Topic")

    # Then they give the dashboard's name and console URL, and the alarm topic to subscribe to
    assert outputs["DashboardName"]["Value"] == {"Ref": dashboard_id}
    assert resources[dashboard_id]["Properties"]["DashboardName"] == "Postbox"
    _, parts = outputs["DashboardUrl"]["Value"]["Fn::Join"]
    assert parts[0] == "https://" and parts[-1].endswith("#dashboards:name=Postbox")
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": topic_id}


# --- configuration ------------------------------------------------------------------------------------------


def test_alarm_email_subscribes_to_the_topic_when_set(infra_config: InfraConfig) -> None:
    # Given the monitoring built with an alarm email, around stand-ins for the API, functions and queues
    config = InfraConfig.from_mapping(
        {**_context_of(infra_config), "postbox:alarmEmail": "ops@example.com", "postbox:queueAgeAlarmSeconds": "600"}
    )
    stack = Stack(App(), "MonitoringOnly")
    monitoring = PostboxMonitoring(stack, "Monitoring", config=config, **_stand_ins(stack))

    # When listing the topic's subscriptions (read from the construct tree: no synthesis needed)
    subscriptions = [
        cast(sns.CfnSubscription, child.node.default_child)
        for child in monitoring.topic.node.children
        if isinstance(child, sns.Subscription)
    ]

    # Then the address is subscribed by email, and the queue age alarm takes the configured threshold
    assert [(s.protocol, s.endpoint) for s in subscriptions] == [("email", "ops@example.com")]
    assert config.queue_age_alarm_seconds == 600


def test_optional_settings_have_defaults_and_are_checked(infra_config: InfraConfig) -> None:
    # Given a context without the optional keys (an older cdk.json)
    optional = ("apiThrottleRate", "apiThrottleBurst", "queueAgeAlarmSeconds", "alarmEmail")
    context = {key: value for key, value in _context_of(infra_config).items() if key[len("postbox:") :] not in optional}

    # When reading the configuration
    config = InfraConfig.from_mapping(context)

    # Then the defaults apply, and cdk.json spells out the same values (its alarm email is empty: none)
    assert (config.api_throttle_rate, config.api_throttle_burst, config.queue_age_alarm_seconds) == (
        DEFAULT_API_THROTTLE_RATE,
        DEFAULT_API_THROTTLE_BURST,
        DEFAULT_QUEUE_AGE_ALARM_SECONDS,
    )
    assert config.alarm_email is None
    assert {f"postbox:{key}" for key in optional} <= cdk_json_context().keys()
    # And values that make no sense are refused, naming their key
    for key, value in [("apiThrottleRate", 0), ("apiThrottleBurst", "x"), ("queueAgeAlarmSeconds", 30)]:
        with pytest.raises(ValueError, match=key):
            InfraConfig.from_mapping({**context, f"postbox:{key}": value})
    with pytest.raises(ValueError, match="alarmEmail"):
        InfraConfig.from_mapping({**context, "postbox:alarmEmail": "not an address"})


def _context_of(config: InfraConfig) -> dict[str, Any]:
    """The session's context (cdk.json with the staged asset folders)."""
    return {
        **cdk_json_context(),
        "postbox:lambdaAssetDir": str(config.lambda_asset_dir),
        "postbox:layerAssetDir": str(config.layer_asset_dir),
    }


def _front_door_stand_in(http_api: Any) -> Any:
    from infra.constructs.front_door import FrontDoor

    return FrontDoor(
        url="https://example.invalid",
        requests=http_api.metric_count(),
        client_errors=http_api.metric_client_error(),
        server_errors=http_api.metric_server_error(),
        latencies=[http_api.metric_latency()],
        server_errors_meaning="stand-in",
    )


def _stand_ins(stack: Stack) -> dict[str, Any]:
    from aws_cdk import aws_apigatewayv2 as apigwv2
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_sqs as sqs

    arn = "arn:aws:sqs:us-east-1:123456789012:"
    return {
        "front_door": _front_door_stand_in(apigwv2.HttpApi.from_http_api_attributes(stack, "Api", http_api_id="api")),
        "api_function": lambda_.Function.from_function_name(stack, "ApiFunction", "api"),
        "worker_function": lambda_.Function.from_function_name(stack, "WorkerFunction", "worker"),
        "delivery_queue": sqs.Queue.from_queue_arn(stack, "Queue", arn + "delivery"),
        "redrive_queue": sqs.Queue.from_queue_arn(stack, "Redrive", arn + "redrive"),
    }
