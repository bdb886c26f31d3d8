"""PostboxStack's template: resources built from functions.shared.resources, least privilege, the env contract."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from functions.shared.config import Settings
from functions.shared.resources import DELIVERY_QUEUE, TABLES, WORKER_TIMEOUT_SECONDS, TableDef
from infra.config import InfraConfig

Resources = dict[str, dict[str, Any]]

EXPECTED_ROUTE_KEYS = {"POST /v2/publish/{destination+}", "GET /v2/messages/{messageId}", "GET /v2/dlq/{dlqId}"}
REQUIRED_ENV = {field.alias for field in Settings.model_fields.values() if field.is_required() and field.alias}
SECRET_ENV = {"api": "AUTH_SECRET_ID", "worker": "SIGNING_KEYS_SECRET_ID"}  # the one secret each function reads


def env_of(resources: Resources, function_id: str) -> dict[str, Any]:
    variables: dict[str, Any] = resources[function_id]["Properties"]["Environment"]["Variables"]
    return variables


def referenced_id(value: dict[str, Any]) -> str:
    """The logical ID behind `{"Ref": id}` or `{"Fn::GetAtt": [id, attribute]}`."""
    if "Ref" in value:
        return str(value["Ref"])
    return str(value["Fn::GetAtt"][0])


def allowed_statements(resources: Resources, function_id: str) -> list[dict[str, Any]]:
    """The Allow statements of the policies attached to the function's role."""
    role = {"Ref": referenced_id(resources[function_id]["Properties"]["Role"])}
    return [
        statement
        for resource in resources.values()
        if resource["Type"] == "AWS::IAM::Policy" and role in resource["Properties"]["Roles"]
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
    ]


def actions_on(resources: Resources, function_id: str, resource_id: str) -> set[str]:
    """The actions the function's role may perform on the resource (its ARN or sub-ARNs such as indexes)."""
    actions: set[str] = set()
    for statement in allowed_statements(resources, function_id):
        if f'"{resource_id}"' in json.dumps(statement["Resource"]):
            action = statement["Action"]
            actions |= {action} if isinstance(action, str) else set(action)
    return actions


def all_actions(resources: Resources, function_id: str) -> set[str]:
    actions: set[str] = set()
    for statement in allowed_statements(resources, function_id):
        action = statement["Action"]
        actions |= {action} if isinstance(action, str) else set(action)
    return actions


@pytest.mark.parametrize(
    ("resource_type", "count"),
    [
        ("AWS::DynamoDB::Table", 2),
        ("AWS::SQS::Queue", 2),
        ("AWS::Lambda::Function", 2),
        ("AWS::Lambda::LayerVersion", 1),
        ("AWS::Lambda::EventSourceMapping", 1),
        ("AWS::SecretsManager::Secret", 2),
        ("AWS::ApiGatewayV2::Api", 1),
    ],
)
def test_stack_has_expected_resource_counts(template: Template, resource_type: str, count: int) -> None:
    # Given the synthesized stack
    # When counting resources of one type
    # Then there are exactly as many as Postbox needs (no custom resources sneak in)
    template.resource_count_is(resource_type, count)


@pytest.mark.parametrize("definition", TABLES, ids=lambda definition: definition.logical_id)
def test_table_matches_its_definition(resources: Resources, function_ids: dict[str, str], definition: TableDef) -> None:
    # Given the table the functions are configured with, and what local mode and the tests create
    table_id = referenced_id(env_of(resources, function_ids["api"])[definition.env_var])
    expected = definition.create_table_kwargs("unused")

    # When reading the synthesized table
    table = resources[table_id]
    properties = table["Properties"]

    # Then keys, indexes, billing and TTL are the definition's, with PITR on and the data retained on delete
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert properties["KeySchema"] == expected["KeySchema"]
    by_name = sorted(expected["AttributeDefinitions"], key=lambda attribute: attribute["AttributeName"])
    assert sorted(properties["AttributeDefinitions"], key=lambda attribute: attribute["AttributeName"]) == by_name
    assert properties.get("GlobalSecondaryIndexes") == expected.get("GlobalSecondaryIndexes")
    assert properties["BillingMode"] == expected["BillingMode"] == "PAY_PER_REQUEST"
    expected_ttl = {"AttributeName": definition.ttl_attribute, "Enabled": True} if definition.ttl_attribute else None
    assert properties.get("TimeToLiveSpecification") == expected_ttl
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_delivery_queue_matches_its_definition(resources: Resources, function_ids: dict[str, str]) -> None:
    # Given the queue the functions are configured with
    queue = resources[referenced_id(env_of(resources, function_ids["api"])[DELIVERY_QUEUE.env_var])]

    # When reading its properties and its redrive target
    properties = queue["Properties"]
    redrive = resources[referenced_id(properties["RedrivePolicy"]["deadLetterTargetArn"])]

    # Then timeouts, retention and redrive are the definition's
    assert properties["VisibilityTimeout"] == DELIVERY_QUEUE.visibility_timeout_seconds
    assert properties["MessageRetentionPeriod"] == DELIVERY_QUEUE.retention_seconds
    assert properties["RedrivePolicy"]["maxReceiveCount"] == DELIVERY_QUEUE.max_receive_count
    assert redrive["Type"] == "AWS::SQS::Queue"
    assert redrive["Properties"]["MessageRetentionPeriod"] >= properties["MessageRetentionPeriod"]


def test_queues_are_encrypted_and_deny_insecure_transport(template: Template, resources: Resources) -> None:
    # Given every queue of the stack
    queue_ids = {logical_id for logical_id, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}

    # When collecting the queues whose policy denies requests without TLS
    ssl_enforced = {
        referenced_id(queue)
        for policy in template.find_resources("AWS::SQS::QueuePolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny" and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for queue in policy["Properties"]["Queues"]
    }

    # Then every queue has SQS-managed encryption and enforces TLS
    assert all(resources[queue_id]["Properties"]["SqsManagedSseEnabled"] is True for queue_id in queue_ids)
    assert ssl_enforced == queue_ids


def test_worker_consumes_delivery_queue_reporting_partial_failures(
    template: Template, resources: Resources, function_ids: dict[str, str]
) -> None:
    # Given the worker and the queue it is configured to send retries to
    worker_id = function_ids["worker"]
    queue_id = referenced_id(env_of(resources, worker_id)[DELIVERY_QUEUE.env_var])

    # When reading the stack's event source mapping
    (mapping,) = template.find_resources("AWS::Lambda::EventSourceMapping").values()

    # Then the worker consumes that queue in batches of 10 and reports per-record failures
    assert mapping["Properties"]["FunctionName"] == {"Ref": worker_id}
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["Properties"]["BatchSize"] == 10
    assert mapping["Properties"]["MaximumBatchingWindowInSeconds"] == 1


def test_queue_visibility_timeout_exceeds_worker_timeout(resources: Resources, function_ids: dict[str, str]) -> None:
    # Given the worker function and its queue
    worker = resources[function_ids["worker"]]
    queue = resources[referenced_id(env_of(resources, function_ids["worker"])[DELIVERY_QUEUE.env_var])]

    # When comparing their timeouts
    timeout = worker["Properties"]["Timeout"]

    # Then a record cannot reappear while the worker is still processing it
    assert timeout == WORKER_TIMEOUT_SECONDS
    assert queue["Properties"]["VisibilityTimeout"] > timeout


def test_http_api_routes_go_to_the_api_function(template: Template, function_ids: dict[str, str]) -> None:
    # Given the HTTP API
    template.has_resource_properties("AWS::ApiGatewayV2::Api", {"ProtocolType": "HTTP"})

    # When reading its routes and integrations
    routes = template.find_resources("AWS::ApiGatewayV2::Route").values()
    integrations = template.find_resources("AWS::ApiGatewayV2::Integration")

    # Then the QStash routes exist, each proxied to the API function with payload format 2.0
    assert {route["Properties"]["RouteKey"] for route in routes} == EXPECTED_ROUTE_KEYS
    for route in routes:
        _, (_, integration_ref) = route["Properties"]["Target"]["Fn::Join"]
        integration = integrations[referenced_id(integration_ref)]["Properties"]
        assert integration["IntegrationType"] == "AWS_PROXY"
        assert integration["PayloadFormatVersion"] == "2.0"
        assert integration["IntegrationUri"] == {"Fn::GetAtt": [function_ids["api"], "Arn"]}


def test_api_writes_messages_but_only_reads_the_dlq(resources: Resources, function_ids: dict[str, str]) -> None:
    # Given the API function and the tables it is configured with
    api_id = function_ids["api"]
    env = env_of(resources, api_id)

    # When listing what its role may do on each table
    on_messages = actions_on(resources, api_id, referenced_id(env["MESSAGES_TABLE"]))
    on_dlq = actions_on(resources, api_id, referenced_id(env["DLQ_TABLE"]))

    # Then it writes messages and reads DLQ entries, but cannot write the DLQ
    assert {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"} <= on_messages
    assert "dynamodb:GetItem" in on_dlq
    assert not {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} & on_dlq


def test_worker_writes_messages_and_dlq(resources: Resources, function_ids: dict[str, str]) -> None:
    # Given the worker function and the tables it is configured with
    worker_id = function_ids["worker"]
    env = env_of(resources, worker_id)

    # When listing what its role may do on each table
    on_messages = actions_on(resources, worker_id, referenced_id(env["MESSAGES_TABLE"]))
    on_dlq = actions_on(resources, worker_id, referenced_id(env["DLQ_TABLE"]))

    # Then it updates message state and puts DLQ entries (one transaction)
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"} <= on_messages
    assert "dynamodb:PutItem" in on_dlq


def test_only_the_worker_consumes_the_queue(resources: Resources, function_ids: dict[str, str]) -> None:
    # Given the delivery queue
    queue_id = referenced_id(env_of(resources, function_ids["worker"])[DELIVERY_QUEUE.env_var])

    # When listing what each role may do on it
    worker = actions_on(resources, function_ids["worker"], queue_id)
    api = actions_on(resources, function_ids["api"], queue_id)

    # Then both send, only the worker receives and deletes, and the API receives from no queue at all
    assert {"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"} <= worker
    assert "sqs:SendMessage" in api
    assert not {"sqs:ReceiveMessage", "sqs:DeleteMessage"} & all_actions(resources, function_ids["api"])


@pytest.mark.parametrize("feature", sorted(SECRET_ENV))
def test_each_function_reads_only_its_own_secret(
    resources: Resources, function_ids: dict[str, str], feature: str
) -> None:
    # Given a function and the secrets it is told about
    function_id = function_ids[feature]
    env = env_of(resources, function_id)
    own = referenced_id(env[SECRET_ENV[feature]])
    others = {referenced_id(env[name]) for name in SECRET_ENV.values()} - {own}

    # When listing what its role may do on each secret
    readable = {
        secret_id
        for secret_id in {own, *others}
        if "secretsmanager:GetSecretValue" in actions_on(resources, function_id, secret_id)
    }

    # Then it can read its own secret and no other
    assert others
    assert readable == {own}


def test_wildcard_resources_are_only_for_xray(resources: Resources, function_ids: dict[str, str]) -> None:
    # Given every function of the stack
    # When collecting the actions its role may perform on any resource
    wildcard_actions = {
        action
        for function_id in function_ids.values()
        for statement in allowed_statements(resources, function_id)
        if statement["Resource"] == "*"
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }

    # Then those are only the tracing actions that X-Ray needs
    assert wildcard_actions <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    assert len({resources[f]["Properties"]["Role"]["Fn::GetAtt"][0] for f in function_ids.values()}) == 2


def test_every_function_gets_every_required_setting(resources: Resources, function_ids: dict[str, str]) -> None:
    # Given the settings without defaults that every function validates at startup
    assert {"MESSAGES_TABLE", "AUTH_SECRET_ID"} <= REQUIRED_ENV  # the contract is not vacuous

    # When reading each function's environment
    missing = {
        resources[function_id]["Properties"]["Handler"]: REQUIRED_ENV - env_of(resources, function_id).keys()
        for function_id in function_ids.values()
    }

    # Then none is missing, and all functions point at the same resources
    assert missing == dict.fromkeys(missing, set())
    envs = [{name: env_of(resources, f)[name] for name in REQUIRED_ENV} for f in function_ids.values()]
    assert all(env == envs[0] for env in envs)


def test_handlers_resolve_to_staged_code(resources: Resources, asset_dirs: tuple[Path, Path]) -> None:
    # Given the code folder the stack was synthesized from (staged by the real `stage_code`)
    code_dir, _ = asset_dirs

    for resource in resources.values():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        # When locating the module and attribute the handler string names
        module, _, attribute = resource["Properties"]["Handler"].rpartition(".")
        source = code_dir / (module.replace(".", "/") + ".py")

        # Then the module is staged and defines the handler at module level
        assert source.is_file(), f"{module} is not in the staged code"
        tree = ast.parse(source.read_text())
        assert attribute in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_secrets_are_generated_and_passed_by_arn(resources: Resources, function_ids: dict[str, str]) -> None:
    # Given the secrets of the stack
    secrets = {logical_id: r for logical_id, r in resources.items() if r["Type"] == "AWS::SecretsManager::Secret"}
    generated_keys = {"AUTH_SECRET_ID": "token", "SIGNING_KEYS_SECRET_ID": "current"}

    for function_id in function_ids.values():
        # When reading a function's environment
        env = env_of(resources, function_id)

        # Then secrets are referenced by ARN (a Secret's Ref), never resolved into a value
        for name, key in generated_keys.items():
            secret = secrets[referenced_id(env[name])]["Properties"]
            assert env[name] == {"Ref": referenced_id(env[name])}
            assert secret["GenerateSecretString"]["GenerateStringKey"] == key
        serialized = json.dumps(env)
        assert "resolve:secretsmanager" not in serialized
        assert "SecretString" not in serialized
    # And no secret value is written into the template
    for secret in secrets.values():
        assert "SecretString" not in secret["Properties"]
        assert secret["Properties"]["GenerateSecretString"]["ExcludePunctuation"] is True
        assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] == 48


def test_functions_share_runtime_defaults(
    template: Template, resources: Resources, function_ids: dict[str, str], infra_config: InfraConfig
) -> None:
    # Given the stack's one dependency layer
    (layer_id,) = template.find_resources("AWS::Lambda::LayerVersion")
    assert resources[layer_id]["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert resources[layer_id]["Properties"]["CompatibleArchitectures"] == ["x86_64"]

    for function_id in function_ids.values():
        # When reading a function
        properties = resources[function_id]["Properties"]
        log_group = resources[referenced_id(properties["LoggingConfig"]["LogGroup"])]

        # Then it runs Python 3.12 on x86_64 with the layer, tracing, JSON logs kept for the configured time
        assert properties["Runtime"] == "python3.12"
        assert properties["Architectures"] == ["x86_64"]
        assert properties["Layers"] == [{"Ref": layer_id}]
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert properties["LoggingConfig"]["LogFormat"] == "JSON"
        assert log_group["Properties"]["RetentionInDays"] == infra_config.log_retention_days
        assert properties["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "postbox"
        assert properties["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == "Postbox"


def test_function_sizes_come_from_config(
    resources: Resources, function_ids: dict[str, str], infra_config: InfraConfig
) -> None:
    # Given the configured sizes
    # When reading the functions
    api = resources[function_ids["api"]]["Properties"]
    worker = resources[function_ids["worker"]]["Properties"]

    # Then memory and timeouts are the configured ones
    assert (api["MemorySize"], api["Timeout"]) == (infra_config.api_memory_mb, infra_config.api_timeout_seconds)
    assert worker["MemorySize"] == infra_config.worker_memory_mb


def test_outputs_give_what_a_client_needs(template: Template) -> None:
    # Given the synthesized stack
    # When listing its outputs
    outputs = template.find_outputs("*")

    # Then the API URL, resource names and secret ARNs are all there
    assert set(outputs) == {
        "ApiUrl",
        "MessagesTableName",
        "DlqTableName",
        "DeliveryQueueUrl",
        "DeliveryRedriveQueueUrl",
        "ApiTokenSecretArn",
        "SigningKeysSecretArn",
    }
