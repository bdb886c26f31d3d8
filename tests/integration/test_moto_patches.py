"""Local mode's replacement of moto's transaction backup keeps DynamoDB's all-or-nothing semantics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from functions.local import moto_patches

TABLE = "t"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    moto_patches.install()
    try:
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            client.create_table(
                TableName=TABLE,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            )
            client.put_item(TableName=TABLE, Item={"pk": {"S": "existing"}, "n": {"N": "1"}})
            yield client
    finally:
        moto_patches.uninstall()


def items(client: Any) -> dict[str, dict[str, Any]]:
    return {item["pk"]["S"]: item for item in client.scan(TableName=TABLE)["Items"]}


def test_a_failed_condition_undoes_every_write_of_the_transaction(dynamodb):
    before = items(dynamodb)
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "new"}}}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "existing"}},
                        "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {
                    "Delete": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "missing"}},
                        "ConditionExpression": "attribute_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [reason["Code"] for reason in raised.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert items(dynamodb) == before  # the put is gone and the update undone


def test_a_failed_condition_reports_the_old_item_when_asked(dynamodb):
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "existing"}},
                        "ConditionExpression": "n = :zero",
                        "ExpressionAttributeValues": {":zero": {"N": "0"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            ]
        )
    assert raised.value.response["CancellationReasons"][0]["Item"] == {"pk": {"S": "existing"}, "n": {"N": "1"}}


def test_a_transaction_that_holds_applies_every_write(dynamodb):
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(a)"}},
            {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "existing"}}}},
        ]
    )
    assert set(items(dynamodb)) == {"a"}


def test_two_writes_to_one_item_are_refused_and_change_nothing(dynamodb):
    before = items(dynamodb)
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "b"}}}},
                {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "b"}}}},
            ]
        )
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert items(dynamodb) == before
