"""PostboxStack's template: resources built from functions.shared.resources, least privilege, the env contract."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from functions.api.routes.table import ROUTES as API_ROUTES
from functions.shared.config import Settings
from functions.shared.resources import (
    BODIES_BUCKET,
    COUNTERS_TABLE,
    DELAY_SCHEDULES,
    DELIVERY_QUEUE,
    DLQ_TABLE,
    MAX_ATTEMPT_TIMEOUT_SECONDS,
    MESSAGES_TABLE,
    QUEUES_TABLE,
    SCHEDULES_TABLE,
    TABLES,
    TOPICS_TABLE,
    WORKER_TIMEOUT_SECONDS,
    TableDef,
)
from infra.config import InfraConfig

Resources = dict[str, dict[str, Any]]

# Every row of the route table is one API Gateway route (HEAD is served only behind a function URL).
EXPECTED_ROUTE_KEYS = {f"{route.method} {route.path}" for route in API_ROUTES}
REQUIRED_ENV = {field.alias for field in Settings.model_fields.values() if field.is_required() and field.alias}
# What each setting the stack passes names: the resource type, and `Ref` or the `Fn::GetAtt` attribute giving the value.
ENV_TARGETS = {
    "MESSAGES_TABLE": ("AWS::DynamoDB::Table", "Ref"),
    "DLQ_TABLE": ("AWS::DynamoDB::Table", "Ref"),
    "COUNTERS_TABLE": ("AWS::DynamoDB::Table", "Ref"),
    "TOPICS_TABLE": ("AWS::DynamoDB::Table", "Ref"),
    "QUEUES_TABLE": ("AWS::DynamoDB::Table", "Ref"),
    "SCHEDULES_TABLE": ("AWS::DynamoDB::Table", "Ref"),
    "DELIVERY_QUEUE_URL": ("AWS::SQS::Queue", "Ref"),
    "AUTH_SECRET_ID": ("AWS::SecretsManager::Secret", "Ref"),
    "SIGNING_KEYS_SECRET_ID": ("AWS::SecretsManager::Secret", "Ref"),
    "BODIES_BUCKET": ("AWS::S3::Bucket", "Ref"),
    "SCHEDULE_GROUP": ("AWS::Scheduler::ScheduleGroup", "Ref"),
    "SCHEDULER_ROLE_ARN": ("AWS::IAM::Role", "Arn"),
}
# Settings with a default that the stack passes to one function only, with the function whose attribute they name:
# the API creates cron schedules that invoke the worker.
API_ONLY_ENV_TARGETS = {"WORKER_FUNCTION_ARN": ("worker", "Arn")}
# The secrets (by setting) each function reads, and those it writes: the API rotates signing keys.
SECRET_ACCESS = {
    "api": ({"AUTH_SECRET_ID", "SIGNING_KEYS_SECRET_ID"}, {"SIGNING_KEYS_SECRET_ID"}),
    "worker": ({"SIGNING_KEYS_SECRET_ID"}, set()),
}
# The global secondary indexes of each table, as (partition key, sort key, projection), spelled out independently of
# functions.shared.resources so that a changed definition has to be changed here too.
EXPECTED_INDEXES: dict[TableDef, dict[str, tuple[str, str, str]]] = {
    MESSAGES_TABLE: {
        "pending": ("pendingKey", "sk", "KEYS_ONLY"),
        "byDedupId": ("dedupId", "sk", "KEYS_ONLY"),
        "queueWaiting": ("queueWaiting", "sk", "ALL"),
    },
    DLQ_TABLE: {},
    COUNTERS_TABLE: {},
    TOPICS_TABLE: {"all": ("listing", "name", "ALL")},
    QUEUES_TABLE: {"all": ("listing", "name", "ALL")},
    SCHEDULES_TABLE: {"all": ("listing", "scheduleId", "ALL")},
}
# What each function may do with each table: read and write, only read, only write, or nothing.
READ_WRITE, READ_ONLY, WRITE_ONLY, NO_ACCESS = "read-write", "read-only", "write-only", "none"
TABLE_ACCESS = {
    "api": {
        MESSAGES_TABLE: READ_WRITE,
        DLQ_TABLE: READ_WRITE,
        COUNTERS_TABLE: READ_WRITE,
        TOPICS_TABLE: READ_WRITE,
        QUEUES_TABLE: READ_WRITE,
        SCHEDULES_TABLE: READ_WRITE,
    },
    # The worker takes and releases
    # flow-control slots (conditional writes on counter items); it may look up a URL group's endpoints, but only the
    # API changes groups; it releases a FIFO queue's delivery slot in the same transaction as a message's final state,
    # and dispatches the next waiting message; it reads a cron schedule when it fires and records the firing.
    "worker": {
        MESSAGES_TABLE: READ_WRITE,
        DLQ_TABLE: READ_WRITE,
        COUNTERS_TABLE: READ_WRITE,
        TOPICS_TABLE: READ_ONLY,
        QUEUES_TABLE: READ_WRITE,
        SCHEDULES_TABLE: READ_WRITE,
    },
}
# What the functions' code does with items (TransactWriteItems is authorized per item by these): exactly what a
# function that reads or writes a table is granted (test_each_function_has_exactly_its_statements).
TABLE_ITEM_READS = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
TABLE_WRITE_ACTIONS = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
}
TABLE_READ_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:PartiQLSelect",
}
TABLE_DESCRIBE_ACTIONS = {"dynamodb:DescribeTable"}
SECRET_WRITE_ACTIONS = {"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret", "secretsmanager:*", "*"}
SCHEDULER_SERVICE = "scheduler.amazonaws.com"
SCHEDULE_ACTIONS = {
    "scheduler:CreateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
    "scheduler:UpdateSchedule",
}


def env_of(resources: Resources, function_id: str) -> dict[str, Any]:
    variables: dict[str, Any] = resources[function_id]["Properties"]["Environment"]["Variables"]
    return variables


def referenced_id(value: dict[str, Any]) -> str:
    """The logical ID behind `{"Ref": id}` or `{"Fn::GetAtt": [id, attribute]}`."""
    if "Ref" in value:
        return str(value["Ref"])
    return str(value["Fn::GetAtt"][0])


def role_statements(resources: Resources, role_id: str) -> list[dict[str, Any]]:
    """The Allow statements of the policies attached to the role."""
    role = {"Ref": role_id}
    return [
        statement
        for resource in resources.values()
        if resource["Type"] == "AWS::IAM::Policy" and role in resource["Properties"]["Roles"]
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
    ]


def allowed_statements(resources: Resources, function_id: str) -> list[dict[str, Any]]:
    """The Allow statements of the policies attached to the function's role."""
    return role_statements(resources, referenced_id(resources[function_id]["Properties"]["Role"]))


def actions_of(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def resources_of(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def actions_on(resources: Resources, function_id: str, resource_id: str) -> set[str]:
    """The actions the function's role may perform on the resource (its ARN or sub-ARNs such as indexes)."""
    actions: set[str] = set()
    for statement in allowed_statements(resources, function_id):
        if f'"{resource_id}"' in json.dumps(statement["Resource"]):
            actions |= actions_of(statement)
    return actions


def all_actions(resources: Resources, function_id: str) -> set[str]:
    actions: set[str] = set()
    for statement in allowed_statements(resources, function_id):
        actions |= actions_of(statement)
    return actions


def statements_allowing(resources: Resources, function_id: str, action: str) -> list[dict[str, Any]]:
    """The function's Allow statements that grant `action`, whether by name or by a wildcard covering it."""
    service, _, _ = action.partition(":")
    return [
        statement
        for statement in allowed_statements(resources, function_id)
        if actions_of(statement) & {action, f"{service}:*", "*"}
    ]


@pytest.mark.parametrize(
    ("resource_type", "count"),
    [
        # messages, DLQ, events, rate-limit and flow-control counters, URL groups, FIFO queues, cron schedules
        ("AWS::DynamoDB::Table", len(TABLES)),
        ("AWS::SQS::Queue", 2),
        ("AWS::S3::Bucket", 2),  # bodies, and the bodies bucket's server access logs
        ("AWS::S3::BucketPolicy", 2),
        ("AWS::Scheduler::ScheduleGroup", 1),
        # the sweep; one-time schedules (and the recurring ones of cron schedules) are made and deleted by the functions
        ("AWS::Scheduler::Schedule", 1),
        ("AWS::IAM::Role", 3),  # the two functions', and the schedules' (delays, cron schedules, the sweep)
        ("AWS::IAM::Policy", 3),  # one per role
        ("AWS::Logs::LogGroup", 3),  # each function's, and the API's access log
        ("AWS::Lambda::Function", 2),
        ("AWS::Lambda::LayerVersion", 1),
        ("AWS::Lambda::EventSourceMapping", 1),
        ("AWS::SecretsManager::Secret", 2),
        ("AWS::ApiGatewayV2::Api", 1),
        ("AWS::ApiGatewayV2::Integration", 1),
        ("AWS::ApiGatewayV2::Route", len(EXPECTED_ROUTE_KEYS)),
        ("AWS::ApiGatewayV2::Stage", 1),
        # dead-lettered messages, worker errors, delivery queue age, poison records, API 5xx
        ("AWS::CloudWatch::Alarm", 5),
        ("AWS::CloudWatch::Dashboard", 1),
        ("AWS::SNS::Topic", 1),
        ("AWS::SNS::Subscription", 0),  # postbox:alarmEmail is empty in cdk.json
        ("AWS::KMS::Key", 1),  # the alarm topic's
    ],
)
def test_stack_has_expected_resource_counts(template: Template, resource_type: str, count: int) -> None:
    # Given the synthesized stack
    # When counting resources of one type
    # Then there are exactly as many as Postbox needs
    template.resource_count_is(resource_type, count)


def test_stack_has_no_custom_resources(resources: Resources) -> None:
    # Given the synthesized stack
    # When collecting resource types that CloudFormation runs through a Lambda function of CDK's
    custom = {r["Type"] for r in resources.values() if r["Type"].startswith("Custom::")}
    custom |= {r["Type"] for r in resources.values() if r["Type"] == "AWS::CloudFormation::CustomResource"}

    # Then there are none (no auto-delete of objects, no log retention resource)
    assert custom == set()


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
    assert properties["SSESpecification"] == {"SSEEnabled": True}  # the AWS managed key, aws/dynamodb
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_every_table_is_in_the_expectations() -> None:
    # Given the definitions the stack builds tables from
    # When comparing them with the tables these tests expect
    # Then every table is expected, and its access by each function decided
    assert set(EXPECTED_INDEXES) == set(TABLES)
    assert len(TABLES) == 6
    assert all(set(access) == set(TABLES) for access in TABLE_ACCESS.values())


@pytest.mark.parametrize("definition", TABLES, ids=lambda definition: definition.logical_id)
def test_table_has_its_indexes(resources: Resources, function_ids: dict[str, str], definition: TableDef) -> None:
    # Given a table the functions are configured with
    table = resources[referenced_id(env_of(resources, function_ids["api"])[definition.env_var])]
    expected = EXPECTED_INDEXES[definition]

    # When reading its global secondary indexes
    indexes = {index["IndexName"]: index for index in table["Properties"].get("GlobalSecondaryIndexes", [])}

    # Then each expected index is there, keyed and projected as expected, and there is no other (messages: pending by
    # pendingKey, which only unfinished state items carry, by dedup ID, and those waiting in a FIFO queue by
    # queueWaiting, also sparse; URL groups, queues: by name; cron schedules: by ID; the DLQ's and the messages' own
    # keys list them by time, in write shards)
    assert set(indexes) == {index.name for index in definition.indexes} == set(expected)
    attributes = table["Properties"]["AttributeDefinitions"]
    for name, (partition_key, sort_key, projection) in expected.items():
        assert indexes[name]["KeySchema"] == [
            {"AttributeName": partition_key, "KeyType": "HASH"},
            {"AttributeName": sort_key, "KeyType": "RANGE"},
        ]
        assert indexes[name]["Projection"] == {"ProjectionType": projection}
        assert {"AttributeName": partition_key, "AttributeType": "S"} in attributes


def test_message_dlq_and_counter_tables_are_keyed_and_expire(
    resources: Resources, function_ids: dict[str, str]
) -> None:
    # Given the messages, DLQ and counters tables the functions are configured with
    env = env_of(resources, function_ids["api"])
    messages, dlq, counters = (
        resources[referenced_id(env[definition.env_var])]["Properties"]
        for definition in (MESSAGES_TABLE, DLQ_TABLE, COUNTERS_TABLE)
    )

    # When reading their keys and TTL
    # Then messages are items under a key and a sort key (a message's request item, or its state item under its
    # write shard), DLQ entries are listed per write shard by dlqId, counters are one item per key, and all expire
    assert messages["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert dlq["KeySchema"] == [
        {"AttributeName": "shard", "KeyType": "HASH"},
        {"AttributeName": "dlqId", "KeyType": "RANGE"},
    ]
    assert counters["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    for properties in (messages, dlq, counters):
        assert properties["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


@pytest.mark.parametrize("definition", [TOPICS_TABLE, QUEUES_TABLE], ids=lambda definition: definition.logical_id)
def test_topics_and_queues_tables_are_keyed_by_name_and_kept(
    resources: Resources, function_ids: dict[str, str], definition: TableDef
) -> None:
    # Given the URL groups or FIFO queues table the functions are configured with
    table = resources[referenced_id(env_of(resources, function_ids["api"])[definition.env_var])]["Properties"]

    # When reading its key and TTL
    # Then a group (a queue) is one item keyed by its name, and groups (queues) never expire
    assert table["KeySchema"] == [{"AttributeName": "name", "KeyType": "HASH"}]
    assert "TimeToLiveSpecification" not in table


def test_bodies_bucket_is_private_encrypted_and_expires_objects(
    template: Template, resources: Resources, function_ids: dict[str, str]
) -> None:
    # Given the bucket the functions are configured with
    bucket_id = referenced_id(env_of(resources, function_ids["api"])[BODIES_BUCKET.env_var])
    bucket = resources[bucket_id]
    properties = bucket["Properties"]

    # When reading its policy
    (policy,) = [
        policy
        for policy in template.find_resources("AWS::S3::BucketPolicy").values()
        if policy["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]

    # Then it blocks public access, encrypts with S3-managed keys, is unversioned and kept on stack deletion
    assert bucket["Type"] == "AWS::S3::Bucket"
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    }
    assert "VersioningConfiguration" not in properties
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    # And objects expire after the definition's days
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == BODIES_BUCKET.expiration_days
    assert "Prefix" not in rule and "Filter" not in rule  # every object
    # And its server access logs go to the stack's log bucket, under its own prefix
    logging = properties["LoggingConfiguration"]
    assert resources[referenced_id(logging["DestinationBucketName"])]["Type"] == "AWS::S3::Bucket"
    assert logging["LogFilePrefix"] == f"{BODIES_BUCKET.logical_id}/"
    # And requests without TLS are denied, and the policy allows nothing
    assert [s for s in statements if s["Effect"] != "Deny"] == []
    assert [s for s in statements if s["Effect"] == "Deny"] == [
        {
            "Action": "s3:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": [
                {"Fn::GetAtt": [bucket_id, "Arn"]},
                {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/*"]]},
            ],
        }
    ]


def test_schedule_group_goes_with_the_stack(resources: Resources, function_ids: dict[str, str]) -> None:
    # Given the schedule group the functions are configured with
    group_id = referenced_id(env_of(resources, function_ids["api"])[DELAY_SCHEDULES.env_var])
    group = resources[group_id]

    # When reading it
    name = group["Properties"]["Name"]

    # Then it is a valid, stack-specific group name, and the group (with its schedules) is deleted with the stack,
    # whose queue and role its schedules need
    assert group["Type"] == "AWS::Scheduler::ScheduleGroup"
    assert env_of(resources, function_ids["api"])[DELAY_SCHEDULES.env_var] == {"Ref": group_id}  # Ref is the name
    assert isinstance(name, str)
    assert 1 <= len(name) <= 64
    assert all(c.isalnum() or c in "-_." for c in name)
    assert DELAY_SCHEDULES.logical_id in name
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Delete"


def test_scheduler_role_can_only_send_to_the_queue_and_invoke_the_worker(
    resources: Resources, function_ids: dict[str, str]
) -> None:
    # Given the role the functions hand to their schedules, the delivery queue, and the worker (cron schedules' target)
    env = env_of(resources, function_ids["api"])
    role_id = referenced_id(env[DELAY_SCHEDULES.role_env_var])
    role = resources[role_id]["Properties"]
    queue_id = referenced_id(env[DELIVERY_QUEUE.env_var])
    worker_id = function_ids["worker"]

    # When reading who may assume it and what it may do
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    statements = role_statements(resources, role_id)

    # Then only EventBridge Scheduler, acting for this account, assumes it
    assert resources[role_id]["Type"] == "AWS::IAM::Role"
    assert trust == {
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
        "Effect": "Allow",
        "Principal": {"Service": SCHEDULER_SERVICE},
    }
    # And it may only send messages to the delivery queue and invoke the worker (its unqualified ARN, not the API
    # nor any version or alias): no managed or inline policies, no other statement
    assert "ManagedPolicyArns" not in role
    assert "Policies" not in role
    assert statements == [
        {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": {"Fn::GetAtt": [queue_id, "Arn"]}},
        {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": {"Fn::GetAtt": [worker_id, "Arn"]}},
    ]


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


def test_timeouts_nest_attempt_in_worker_in_visibility(resources: Resources, function_ids: dict[str, str]) -> None:
    # Given the worker function and its queue
    worker = resources[function_ids["worker"]]
    queue = resources[referenced_id(env_of(resources, function_ids["worker"])[DELIVERY_QUEUE.env_var])]

    # When comparing their timeouts with the longest attempt and the claim lease the functions use
    timeout = worker["Properties"]["Timeout"]
    visibility = queue["Properties"]["VisibilityTimeout"]
    defaults = Settings.model_fields
    claim_lease = defaults["max_attempt_timeout_seconds"].default + defaults["claim_margin_seconds"].default

    # Then the slowest attempt fits in an invocation, and a record cannot reappear while the worker still
    # processes it, nor before a dead worker's claim has expired
    assert (timeout, visibility) == (WORKER_TIMEOUT_SECONDS, DELIVERY_QUEUE.visibility_timeout_seconds)
    assert MAX_ATTEMPT_TIMEOUT_SECONDS < timeout < visibility
    assert claim_lease < visibility


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


@pytest.mark.parametrize("feature", sorted(TABLE_ACCESS))
@pytest.mark.parametrize("definition", TABLES, ids=lambda definition: definition.logical_id)
def test_functions_access_each_table_as_they_need(
    resources: Resources, function_ids: dict[str, str], feature: str, definition: TableDef
) -> None:
    # Given a function, a table it is configured with, its indexes, and the access the function needs
    function_id = function_ids[feature]
    table_id = referenced_id(env_of(resources, function_id)[definition.env_var])
    table_arn = {"Fn::GetAtt": [table_id, "Arn"]}
    index_arns = [{"Fn::Join": ["", [table_arn, f"/index/{index.name}"]]} for index in definition.indexes]
    access = TABLE_ACCESS[feature][definition]

    # When listing what its role may do on the table (or its indexes), and which statements cover each index
    actions = actions_on(resources, function_id, table_id)
    statements = allowed_statements(resources, function_id)
    on_index = [
        {action for statement in statements if arn in resources_of(statement) for action in actions_of(statement)}
        for arn in index_arns
    ]
    on_indexes = set().union(*on_index)

    # Then no wildcard covers it, neither in the actions nor as `index/*`
    assert not {"dynamodb:*", "*"} & actions
    assert '/index/*"' not in json.dumps([statement["Resource"] for statement in statements])
    if access == READ_WRITE:
        # And a read-write function reads, writes and deletes items (the API deletes and replays DLQ entries and
        # counts requests; the worker moves messages to the DLQ in one transaction) and queries each index by name
        assert actions >= TABLE_WRITE_ACTIONS | TABLE_ITEM_READS
        assert all("dynamodb:Query" in on for on in on_index)
    elif access == READ_ONLY:
        # And a read-only function gets and queries items and each index, but may do nothing beyond reading
        assert {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"} <= actions
        assert all("dynamodb:Query" in on for on in on_index)
        assert actions | on_indexes <= TABLE_READ_ACTIONS | TABLE_DESCRIBE_ACTIONS
    elif access == WRITE_ONLY:
        # And a write-only function puts items (alone or in TransactWriteItems, authorized per item) but reads none
        assert actions >= TABLE_WRITE_ACTIONS
        assert not TABLE_READ_ACTIONS & (actions | on_indexes)
    else:
        # And a function with no access has no statement naming the table
        assert access == NO_ACCESS
        assert actions == set()


@pytest.mark.parametrize("feature", ["api", "worker"])
def test_functions_put_and_get_bodies_only(resources: Resources, function_ids: dict[str, str], feature: str) -> None:
    # Given a function and the bucket it is configured with
    function_id = function_ids[feature]
    bucket_id = referenced_id(env_of(resources, function_id)[BODIES_BUCKET.env_var])
    objects_arn = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/*"]]}

    # When listing what its role may do on the bucket's objects
    on_objects = {
        action
        for statement in allowed_statements(resources, function_id)
        if objects_arn in resources_of(statement)
        for action in actions_of(statement)
    }

    # Then it puts and gets objects (the lifecycle rule deletes them), and can do nothing else with the bucket:
    # no listing, no deleting, no ACLs, no bucket settings
    assert on_objects == {"s3:PutObject", "s3:GetObject"}
    assert actions_on(resources, function_id, bucket_id) == on_objects


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


@pytest.mark.parametrize("feature", sorted(SECRET_ACCESS))
def test_each_function_reads_and_writes_only_its_secrets(
    resources: Resources, function_ids: dict[str, str], feature: str
) -> None:
    # Given a function and the secrets of the stack, by the setting that names them
    function_id = function_ids[feature]
    env = env_of(resources, function_id)
    secrets = {name: referenced_id(env[name]) for name in ("AUTH_SECRET_ID", "SIGNING_KEYS_SECRET_ID")}
    reads, writes = SECRET_ACCESS[feature]

    # When listing what its role may do on each secret
    on = {name: actions_on(resources, function_id, secret_id) for name, secret_id in secrets.items()}
    readable = {name for name, actions in on.items() if "secretsmanager:GetSecretValue" in actions}
    writable = {name for name, actions in on.items() if SECRET_WRITE_ACTIONS & actions}

    # Then it reads and writes exactly the secrets it needs (the API rotates signing keys but never the API token),
    # and a function that writes no secret cannot put a secret value anywhere
    assert len(set(secrets.values())) == 2
    assert readable == reads
    assert writable == writes
    assert bool(statements_allowing(resources, function_id, "secretsmanager:PutSecretValue")) == bool(writes)


@pytest.mark.parametrize("feature", ["api", "worker"])
def test_functions_manage_schedules_only_in_their_group(
    resources: Resources, function_ids: dict[str, str], feature: str
) -> None:
    # Given a function and the schedule group it is configured with
    function_id = function_ids[feature]
    group_id = referenced_id(env_of(resources, function_id)[DELAY_SCHEDULES.env_var])

    # When collecting its statements that allow any Scheduler action
    scheduler_statements = [
        statement
        for statement in allowed_statements(resources, function_id)
        if any(action.startswith("scheduler:") or action == "*" for action in actions_of(statement))
    ]

    # Then it may create, read, update (pause and resume) and delete schedules of that group, and nothing else of
    # Scheduler
    assert [(actions_of(s), s["Resource"]) for s in scheduler_statements] == [
        (SCHEDULE_ACTIONS, schedules_arn(group_id))
    ]


@pytest.mark.parametrize("feature", ["api", "worker"])
def test_functions_may_pass_only_the_scheduler_role_to_scheduler(
    resources: Resources, function_ids: dict[str, str], feature: str
) -> None:
    # Given a function and the role it hands to its schedules
    function_id = function_ids[feature]
    role_id = referenced_id(env_of(resources, function_id)[DELAY_SCHEDULES.role_env_var])

    # When collecting its statements that allow passing a role
    pass_role = statements_allowing(resources, function_id, "iam:PassRole")

    # Then the one such statement names exactly that role, and only for EventBridge Scheduler
    assert pass_role == [
        {
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": SCHEDULER_SERVICE}},
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [role_id, "Arn"]},
        }
    ]


# What the worker's SQS event source lets it do with the delivery queue (CDK's grant for the event source mapping).
QUEUE_CONSUME_ACTIONS = {
    "sqs:ReceiveMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
}
Grant = tuple[str, str, str]  # (action, resource, condition), the two last as JSON


def grants_of(statements: list[dict[str, Any]]) -> set[Grant]:
    """Each (action, resource, condition) that the statements allow, however CDK grouped them into statements."""
    assert all(set(statement) <= {"Action", "Effect", "Resource", "Condition"} for statement in statements)
    return {
        (action, json.dumps(resource, sort_keys=True), json.dumps(statement.get("Condition"), sort_keys=True))
        for statement in statements
        for action in actions_of(statement)
        for resource in resources_of(statement)
    }


def grants(actions: set[str], *arns: Any, condition: Any = None) -> set[Grant]:
    return {
        (action, json.dumps(arn, sort_keys=True), json.dumps(condition, sort_keys=True))
        for action in actions
        for arn in arns
    }


def expected_grants(resources: Resources, function_ids: dict[str, str], feature: str) -> set[Grant]:
    """Everything the function's role should allow, spelled out from the function's settings and this file's
    matrices (not from infra/)."""
    function_id = function_ids[feature]
    env = env_of(resources, function_id)
    log_group_id = referenced_id(resources[function_id]["Properties"]["LoggingConfig"]["LogGroup"])
    queue_arn = {"Fn::GetAtt": [referenced_id(env[DELIVERY_QUEUE.env_var]), "Arn"]}
    bucket_id = referenced_id(env[BODIES_BUCKET.env_var])
    expected = grants({"logs:CreateLogStream", "logs:PutLogEvents"}, {"Fn::GetAtt": [log_group_id, "Arn"]})
    for definition, access in TABLE_ACCESS[feature].items():
        table_arn = {"Fn::GetAtt": [referenced_id(env[definition.env_var]), "Arn"]}
        index_arns = [{"Fn::Join": ["", [table_arn, f"/index/{index.name}"]]} for index in definition.indexes]
        if access == READ_WRITE:
            expected |= grants(TABLE_ITEM_READS | TABLE_WRITE_ACTIONS, table_arn, *index_arns)
        elif access == READ_ONLY:
            expected |= grants(TABLE_ITEM_READS, table_arn, *index_arns)
        elif access == WRITE_ONLY:
            expected |= grants(TABLE_WRITE_ACTIONS, table_arn)
    expected |= grants({"sqs:SendMessage"}, queue_arn)
    if feature == "worker":
        expected |= grants(QUEUE_CONSUME_ACTIONS, queue_arn)
    expected |= grants({"s3:PutObject", "s3:GetObject"}, {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/*"]]})
    expected |= grants(SCHEDULE_ACTIONS, schedules_arn(referenced_id(env[DELAY_SCHEDULES.env_var])))
    expected |= grants(
        {"iam:PassRole"},
        env[DELAY_SCHEDULES.role_env_var],
        condition={"StringEquals": {"iam:PassedToService": SCHEDULER_SERVICE}},
    )
    reads, writes = SECRET_ACCESS[feature]
    expected |= grants({"secretsmanager:GetSecretValue"}, *(env[name] for name in sorted(reads)))
    expected |= grants({"secretsmanager:PutSecretValue"}, *(env[name] for name in sorted(writes)))
    return expected


def schedules_arn(group_id: str) -> dict[str, Any]:
    """The ARN of every schedule in the group."""
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":scheduler:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":schedule/",
                {"Ref": group_id},
                "/*",
            ],
        ]
    }


def referenced_ids(value: Any) -> set[str]:
    """Every logical ID (or pseudo parameter) that a template value references."""
    if isinstance(value, dict):
        found = {str(value["Ref"])} if "Ref" in value else set()
        if "Fn::GetAtt" in value:
            found.add(str(value["Fn::GetAtt"][0]))
        return found.union(*(referenced_ids(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(referenced_ids(item) for item in value))
    return set()


@pytest.mark.parametrize("feature", sorted(TABLE_ACCESS))
def test_each_function_has_exactly_its_statements(
    resources: Resources, function_ids: dict[str, str], feature: str
) -> None:
    # Given a function, and everything it needs: its log group, its tables by the matrix, the delivery queue, the
    # bodies, its schedule group and the role it hands to schedules, its secrets
    function_id = function_ids[feature]
    role_id = referenced_id(resources[function_id]["Properties"]["Role"])
    expected = expected_grants(resources, function_ids, feature)

    # When reading every statement of every policy attached to its role, and the role itself
    statements = allowed_statements(resources, function_id)
    role = resources[role_id]["Properties"]
    denied = [
        statement
        for resource in resources.values()
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in resource["Properties"]["Roles"]
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] != "Allow"
    ]

    # Then they allow exactly that: no other action, on no other resource
    assert grants_of(statements) == expected
    assert denied == []
    # And no action is a wildcard, every resource is one of this stack's (or built from its pseudo parameters)
    assert not [action for statement in statements for action in actions_of(statement) if "*" in action]
    for statement in statements:
        for resource in resources_of(statement):
            assert isinstance(resource, dict), resource  # never a literal ARN or `*`
            assert referenced_ids(resource) <= set(resources) | {"AWS::Partition", "AWS::Region", "AWS::AccountId"}
    # And the role has no managed or inline policy, and only Lambda assumes it
    assert "ManagedPolicyArns" not in role
    assert "Policies" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]


# botocore operations whose IAM action is another one's (or, for a transaction, each item's).
OPERATION_ACTIONS = {
    "sqs:SendMessageBatch": {"sqs:SendMessage"},
    "sqs:DeleteMessageBatch": {"sqs:DeleteMessage"},
    "sqs:ChangeMessageVisibilityBatch": {"sqs:ChangeMessageVisibility"},
    "s3:HeadObject": {"s3:GetObject"},
    "s3:ListObjectsV2": {"s3:ListBucket"},
    "dynamodb:TransactGetItems": {"dynamodb:GetItem"},
    "dynamodb:TransactWriteItems": set(),  # each item's Put / Update / Delete / ConditionCheck (below)
}
AWS_SERVICES = ("dynamodb", "sqs", "s3", "secretsmanager", "scheduler")


def actions_called_by_functions() -> dict[str, set[str]]:
    """The IAM actions of the AWS calls in the deployed code (all of functions/), by file.

    A coarse reading: any `.<method>(` whose name is a method of the boto3 client of a service the stack grants.
    """
    import boto3

    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="unused", aws_secret_access_key="x")
    operations: dict[str, set[str]] = {}
    for service in AWS_SERVICES:
        client = session.client(service)  # type: ignore[call-overload]  # (typed per literal service name)
        for method, operation in client.meta.method_to_api_mapping.items():
            operations.setdefault(method, set()).add(f"{service}:{operation}")
    root = Path(__file__).resolve().parents[2] / "functions"
    called: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        source = path.read_text()
        for method in set(re.findall(r"\.([a-z_][a-z0-9_]*)\(", source)) & operations.keys():
            for operation in operations[method]:
                called.setdefault(operation, set()).add(str(path.relative_to(root)))
        if '"ConditionCheck"' in source:  # a transaction item that only checks a condition
            called.setdefault("dynamodb:ConditionCheckItem", set()).add(str(path.relative_to(root)))
    return {
        action: files for operation, files in called.items() for action in OPERATION_ACTIONS.get(operation, {operation})
    }


def test_grants_cover_every_aws_call_of_the_functions(resources: Resources, function_ids: dict[str, str]) -> None:
    # Given the AWS calls the deployed code makes (not vacuous: it reads, writes, sends, stores bodies, schedules)
    called = actions_called_by_functions()
    assert {"dynamodb:Query", "dynamodb:UpdateItem", "sqs:SendMessage", "s3:PutObject"} <= called.keys()
    assert "scheduler:CreateSchedule" in called

    # When collecting what the functions' roles may do
    granted = {action for function_id in function_ids.values() for action in all_actions(resources, function_id)}

    # Then every call is allowed to some function (the grants are exact, so a new kind of call needs a grant)
    assert {action: files for action, files in called.items() if action not in granted} == {}


def test_no_function_may_act_on_every_resource(
    resources: Resources, function_ids: dict[str, str], infra_config: InfraConfig
) -> None:
    # Given every function of the stack, with tracing off (cdk.json's default)
    assert infra_config.tracing is False

    # When collecting the actions its role may perform on any resource
    wildcard_actions = {
        action
        for function_id in function_ids.values()
        for statement in allowed_statements(resources, function_id)
        if "*" in resources_of(statement)
        for action in actions_of(statement)
    }

    # Then there are none: not even X-Ray's, which only tracing needs (test_function_tracing_can_be_switched_on)
    assert wildcard_actions == set()
    assert not {
        action for f in function_ids.values() for action in all_actions(resources, f) if action.startswith("xray:")
    }
    assert len({resources[f]["Properties"]["Role"]["Fn::GetAtt"][0] for f in function_ids.values()}) == 2


def test_every_function_gets_every_required_setting(resources: Resources, function_ids: dict[str, str]) -> None:
    # Given the settings without defaults that every function validates at startup
    assert {"MESSAGES_TABLE", "AUTH_SECRET_ID", "BODIES_BUCKET", "SCHEDULE_GROUP"} <= REQUIRED_ENV  # not vacuous
    assert {definition.env_var for definition in TABLES} <= REQUIRED_ENV

    # When reading each function's environment
    missing = {
        resources[function_id]["Properties"]["Handler"]: REQUIRED_ENV - env_of(resources, function_id).keys()
        for function_id in function_ids.values()
    }

    # Then none is missing, and all functions point at the same resources
    assert missing == dict.fromkeys(missing, set())
    envs = [{name: env_of(resources, f)[name] for name in REQUIRED_ENV} for f in function_ids.values()]
    assert all(env == envs[0] for env in envs)


def test_every_setting_names_the_right_resource(resources: Resources, function_ids: dict[str, str]) -> None:
    # Given the settings the stack passes: every required one, and those its resources define (the queue's ARN)
    assert set(ENV_TARGETS) >= REQUIRED_ENV, "a new required setting needs a value in infra/stack.py and here"

    for function_id in function_ids.values():
        env = env_of(resources, function_id)
        for name, (resource_type, attribute) in ENV_TARGETS.items():
            # When resolving the setting's value to the resource it references
            value = env[name]
            target_id = referenced_id(value)

            # Then it is a reference (not a literal) to a resource of the expected type, by the expected attribute
            assert resources[target_id]["Type"] == resource_type, name
            expected = {"Ref": target_id} if attribute == "Ref" else {"Fn::GetAtt": [target_id, attribute]}
            assert value == expected, name
        # And the tables and the secrets are distinct
        assert len({referenced_id(env[definition.env_var]) for definition in TABLES}) == len(TABLES)
        assert env["AUTH_SECRET_ID"] != env["SIGNING_KEYS_SECRET_ID"]


def test_api_only_settings_name_the_right_function(resources: Resources, function_ids: dict[str, str]) -> None:
    # Given the settings with a default that only the API gets (not vacuous: they are settings of the functions)
    assert set(API_ONLY_ENV_TARGETS) <= {field.alias for field in Settings.model_fields.values()} - REQUIRED_ENV
    api, worker = env_of(resources, function_ids["api"]), env_of(resources, function_ids["worker"])

    for name, (feature, attribute) in API_ONLY_ENV_TARGETS.items():
        # When reading the setting in each function's environment
        # Then the API's is a reference to the function's attribute (the worker's ARN), and the worker has none
        assert api[name] == {"Fn::GetAtt": [function_ids[feature], attribute]}, name
        assert name not in worker, name


def test_the_worker_does_not_reference_the_api(resources: Resources, function_ids: dict[str, str]) -> None:
    # Given the worker, its role and its role's policies, and the API function and its role
    worker_id, api_id = function_ids["worker"], function_ids["api"]
    role_id = referenced_id(resources[worker_id]["Properties"]["Role"])
    policies = [
        resource
        for resource in resources.values()
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in resource["Properties"]["Roles"]
    ]
    api_ids = {api_id, referenced_id(resources[api_id]["Properties"]["Role"])}

    # When serializing the worker's side (properties and DependsOn)
    serialized = json.dumps([resources[worker_id], resources[role_id], *policies])

    # Then none of it names the API or its role: the API references the worker, so a reference back would be a cycle
    assert not {logical_id for logical_id in api_ids if f'"{logical_id}"' in serialized}


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
    assert resources[layer_id]["Properties"]["CompatibleArchitectures"] == ["arm64"]  # Graviton, by default

    for function_id in function_ids.values():
        # When reading a function
        properties = resources[function_id]["Properties"]
        log_group = resources[referenced_id(properties["LoggingConfig"]["LogGroup"])]

        # Then it runs Python 3.12 on arm64 with the layer, JSON logs kept for the configured time, and no X-Ray
        # tracing (cdk.json's default): no active tracing config, and the Tracer (and the X-Ray SDK import) disabled
        assert properties["Runtime"] == "python3.12"
        assert properties["Architectures"] == ["arm64"]
        assert properties["Layers"] == [{"Ref": layer_id}]
        assert "TracingConfig" not in properties
        assert properties["LoggingConfig"]["LogFormat"] == "JSON"
        assert log_group["Properties"]["RetentionInDays"] == infra_config.log_retention_days
        assert properties["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "postbox"
        namespace = f"Postbox/{infra_config.stack_name}"  # per stack: two stacks in an account keep them apart
        assert properties["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == namespace
        assert properties["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"


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


def test_outputs_give_what_a_client_needs(
    template: Template, resources: Resources, function_ids: dict[str, str]
) -> None:
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
        "BodiesBucketName",
        "ScheduleGroupName",
        "ApiTokenSecretArn",
        "SigningKeysSecretArn",
        "AlarmTopicArn",
        "DashboardName",
        "DashboardUrl",
    }
    # And the names of the bucket and the schedule group are those the functions use
    env = env_of(resources, function_ids["api"])
    assert outputs["BodiesBucketName"]["Value"] == env[BODIES_BUCKET.env_var]
    assert outputs["ScheduleGroupName"]["Value"] == env[DELAY_SCHEDULES.env_var]


def test_the_sweep_runs_the_worker_every_ten_minutes(resources: Resources, function_ids: dict[str, str]) -> None:
    # Given the stack's one recurring schedule
    [schedule] = [r for r in resources.values() if r["Type"] == "AWS::Scheduler::Schedule"]
    properties = schedule["Properties"]
    # Then it invokes the worker with the sweep event every ten minutes
    assert properties["ScheduleExpression"] == "rate(1 minute)"
    assert properties["Target"]["Arn"] == {"Fn::GetAtt": [function_ids["worker"], "Arn"]}
    assert json.loads(properties["Target"]["Input"]) == {"sweep": True}
    # And it runs as the schedules' role, which may invoke the worker's unqualified ARN only
    role = env_of(resources, function_ids["worker"])[DELAY_SCHEDULES.role_env_var]
    assert properties["Target"]["RoleArn"] == role
    assert properties["State"] == "ENABLED"


def test_functions_get_the_configured_ssrf_allowlist_and_none_by_default(
    resources: dict[str, Any], function_ids: dict[str, str], infra_config: Any
) -> None:
    for logical_id in function_ids.values():
        variables = resources[logical_id]["Properties"]["Environment"]["Variables"]
        assert {k: v for k, v in variables.items() if k == "DESTINATION_ALLOW_CIDRS"} == (
            infra_config.function_environment
        )
