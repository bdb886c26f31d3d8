"""moto's speed-ups (local_mode/moto_speedups.py) change no answer: the same requests, run once with and once
without them, give the same responses, the same errors and the same tables."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local_mode import moto_speedups

TABLE = "t"
EVERY_TYPE: dict[str, Any] = {
    "pk": {"S": "every-type"},
    "s": {"S": "text ünïcode"},
    "n": {"N": "-12.5"},
    "b": {"B": b"\x00\x01binary"},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"x", b"y"]},
    "m": {"M": {"inner": {"L": [{"S": "x"}, {"N": "3"}, {"BOOL": False}, {"NULL": True}]}, "empty": {"M": {}}}},
    "l": {"L": [{"M": {"b": {"B": b"z"}}}, {"L": []}]},
    "t": {"BOOL": True},
    "nil": {"NULL": True},
    "empty": {"S": ""},
}
UPDATES: list[dict[str, Any]] = [
    # Postbox's own shapes: a transition appending its log entry, with a condition on the state and the attempt
    {
        "UpdateExpression": (
            "SET #log = list_append(#log, :entry), #state = :active, claimUntil = :lease ADD attempts :one"
        ),
        "ConditionExpression": "#state IN (:created, :retry) AND attempt = :attempt AND attribute_not_exists(x)",
        "ExpressionAttributeNames": {"#log": "log", "#state": "state"},
        "ExpressionAttributeValues": {
            ":entry": {"L": [{"M": {"state": {"S": "ACTIVE"}}}]},
            ":active": {"S": "ACTIVE"},
            ":lease": {"N": "10"},
            ":one": {"N": "1"},
            ":created": {"S": "CREATED"},
            ":retry": {"S": "RETRY"},
            ":attempt": {"N": "0"},
        },
    },
    {
        "UpdateExpression": "SET #state = :done REMOVE claimUntil, pendingKey",
        "ConditionExpression": "#state = :active AND attempt = :attempt",
        "ExpressionAttributeNames": {"#state": "state"},
        "ExpressionAttributeValues": {":done": {"S": "DELIVERED"}, ":active": {"S": "ACTIVE"}, ":attempt": {"N": "0"}},
    },
    # Invalid ones: each must fail the same way the second time too (the checks that passed are the ones cached)
    {"UpdateExpression": "SET a = :v, a = :v", "ExpressionAttributeValues": {":v": {"N": "1"}}},
    {"UpdateExpression": "SET pk = :v", "ExpressionAttributeValues": {":v": {"S": "other"}}},
    {"UpdateExpression": "SET a.b = :v, a = :v", "ExpressionAttributeValues": {":v": {"N": "1"}}},
    {"UpdateExpression": "SET a = :missing", "ExpressionAttributeValues": {":v": {"N": "1"}}},
    {"UpdateExpression": "SET a = :v ADD n :v", "ExpressionAttributeValues": {":v": {"S": "not a number"}}},
    {"UpdateExpression": "SET a = ", "ExpressionAttributeValues": {":v": {"N": "1"}}},
    {
        "UpdateExpression": "SET a = :v",
        "ConditionExpression": "a = :v OR attribute_exists(nothing)",
        "ExpressionAttributeValues": {":v": {"N": "1"}},
    },
]


def _answer(call: Callable[[], Mapping[str, Any]]) -> Any:
    try:
        answer = dict(call())
    except ClientError as exc:
        return ("error", exc.response["Error"]["Code"], exc.response["Error"].get("Message"))
    answer.pop("ResponseMetadata", None)
    return answer


def scenario() -> list[Any]:
    """DynamoDB and SQS requests as Postbox makes them, and invalid ones, each twice; their answers in order."""
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    dynamodb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )
    answers: list[Any] = []
    for round_ in range(2):
        key = {"pk": {"S": f"message-{round_}"}}
        answers.append(_answer(lambda: dynamodb.put_item(TableName=TABLE, Item=EVERY_TYPE)))
        answers.append(_answer(lambda: dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "every-type"}})))
        item: dict[str, Any] = {
            **key,
            "state": {"S": "CREATED"},
            "attempt": {"N": "0"},
            "log": {"L": []},
            "n": {"N": "1"},
        }
        answers.append(_answer(partial(dynamodb.put_item, TableName=TABLE, Item=item)))
        for update in UPDATES:
            call: dict[str, Any] = {"TableName": TABLE, "Key": key, "ReturnValues": "ALL_NEW", **update}
            answers.append(_answer(partial(dynamodb.update_item, **call)))
        keys = [key, {"pk": {"S": "every-type"}}]
        answers.append(_answer(partial(dynamodb.batch_get_item, RequestItems={TABLE: {"Keys": keys}})))
    answers.append(sorted(map(str, dynamodb.scan(TableName=TABLE)["Items"])))
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"record {n}")
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    answers.append(sorted(message["Body"] for message in received))
    return answers


def run(speedups: bool) -> list[Any]:
    if speedups:
        moto_speedups.install()
    try:
        with mock_aws():
            return scenario()
    finally:
        if speedups:
            moto_speedups.uninstall()


def test_the_speedups_change_no_answer() -> None:
    plain = run(speedups=False)
    assert any(isinstance(a, tuple) and a[0] == "error" for a in plain)  # the invalid requests did fail
    assert run(speedups=True) == plain


@pytest.mark.parametrize("installed", [False, True])
def test_an_item_of_every_type_reads_back_as_written(installed: bool) -> None:
    answers = run(speedups=installed)
    assert answers[1]["Item"] == EVERY_TYPE
