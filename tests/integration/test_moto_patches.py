"""Local mode's changes to moto: transactions stay all-or-nothing, and queries answer as moto does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal, TypeVar

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local_mode import moto_patches

TABLE = "t"
T = TypeVar("T")


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


def with_patches(call: Callable[[], T]) -> T:
    """What `call` answers with local mode's changes to moto installed."""
    moto_patches.install()
    try:
        return call()
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


@pytest.fixture
def ranged() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="r",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
        )
        for pk in ("a", "b", "c"):
            for sk in ("3", "1", "2", "4"):
                client.put_item(TableName="r", Item={"pk": {"S": pk}, "sk": {"S": sk}, "v": {"N": str(len(pk + sk))}})
        yield client


QUERIES: list[dict[str, Any]] = [
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "b"}}},
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "nobody"}}},
    {
        "KeyConditionExpression": "pk = :p AND sk BETWEEN :low AND :high",
        "ExpressionAttributeValues": {":p": {"S": "c"}, ":low": {"S": "2"}, ":high": {"S": "3"}},
        "ScanIndexForward": False,
    },
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a"}}, "Limit": 3},
    {
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "a"}},
        "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"S": "2"}},
    },
    # the sort key ranges of the write shards' listings (functions/shared/shards.py)
    *(
        {
            "KeyConditionExpression": f"pk = :p AND sk {op} :s",
            "ExpressionAttributeValues": {":p": {"S": "b"}, ":s": {"S": "2"}},
        }
        for op in (">=", ">", "<=", "<", "=")
    ),
    {
        "KeyConditionExpression": "pk = :p AND sk BETWEEN :low AND :high",
        "ExpressionAttributeValues": {":p": {"S": "a"}, ":low": {"S": "2"}, ":high": {"S": "9"}},
        "Limit": 2,
    },
    {
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
        "ExpressionAttributeValues": {":p": {"S": "c"}, ":s": {"S": "4"}},
    },
]


@pytest.mark.parametrize("query", QUERIES)
def test_a_key_query_answers_as_moto_does(ranged, query):
    # Given moto's own answer to a query of the table's key
    expected = ranged.query(TableName="r", ConsistentRead=True, **query)
    # When the same query runs with the partition-only lookup / Then the answer is the same, items and paging
    answer = with_patches(lambda: ranged.query(TableName="r", ConsistentRead=True, **query))
    for field in ("Items", "Count", "LastEvaluatedKey"):
        assert answer.get(field) == expected.get(field)
    assert expected["Count"] or query["ExpressionAttributeValues"][":p"] == {"S": "nobody"}  # not vacuous


KEY_TYPES: tuple[tuple[str, Literal["S", "N"]], ...] = (("pk", "S"), ("sk", "S"), ("g", "S"), ("t", "S"), ("n", "N"))


@pytest.fixture
def indexed() -> Iterator[Any]:
    """A table with a sparse string-keyed index and a number-keyed one, holding items the sparse index leaves out
    (no attribute) and numbers equal only as numbers ("1.0" and "1")."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="x",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": name, "AttributeType": kind} for name, kind in KEY_TYPES],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "byG",
                    "KeySchema": [
                        {"AttributeName": "g", "KeyType": "HASH"},
                        {"AttributeName": "t", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                },
                {
                    "IndexName": "byN",
                    "KeySchema": [{"AttributeName": "n", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                },
            ],
        )
        for i in range(40):
            item: dict[str, Any] = {"pk": {"S": f"p{i % 7}"}, "sk": {"S": f"s{i}"}, "t": {"S": f"{(i * 13) % 40:02d}"}}
            if i % 3:
                item["g"] = {"S": "1" if i % 2 else "2"}
            item["n"] = {"N": "1.0" if i % 4 == 0 else str(i % 3)}
            client.put_item(TableName="x", Item=item)
        yield client


INDEX_QUERIES: list[dict[str, Any]] = [
    {"IndexName": "byG", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "1"}}},
    {"IndexName": "byG", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "none"}}},
    {
        "IndexName": "byG",
        "KeyConditionExpression": "g = :g AND t BETWEEN :low AND :high",
        "ExpressionAttributeValues": {":g": {"S": "2"}, ":low": {"S": "05"}, ":high": {"S": "30"}},
        "ScanIndexForward": False,
    },
    {
        "IndexName": "byG",
        "KeyConditionExpression": "g = :g",
        "FilterExpression": "pk <> :p",
        "ExpressionAttributeValues": {":g": {"S": "1"}, ":p": {"S": "p3"}},
        "Limit": 4,
    },
    {"IndexName": "byN", "KeyConditionExpression": "n = :n", "ExpressionAttributeValues": {":n": {"N": "1"}}},
]


@pytest.mark.parametrize("query", INDEX_QUERIES)
def test_an_index_query_answers_as_moto_does(indexed, query):
    # Given moto's own answers to an index query, page by page
    def pages() -> list[dict[str, Any]]:
        answers, start = [], None
        while True:
            answer = indexed.query(TableName="x", **query, **({"ExclusiveStartKey": start} if start else {}))
            answers.append({field: answer.get(field) for field in ("Items", "Count", "LastEvaluatedKey")})
            start = answer.get("LastEvaluatedKey")
            if not start:
                return answers

    expected = pages()
    # When the same query runs over the items with the asked index key only / Then every page is the same
    answer = with_patches(pages)
    assert answer == expected
    assert expected[0]["Count"] or query["ExpressionAttributeValues"].get(":g") == {"S": "none"}  # not vacuous
