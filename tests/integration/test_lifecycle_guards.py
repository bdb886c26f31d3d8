"""Each transition's guard, as the stores write it (a DynamoDB condition) and as the services check it on a read
(Python), gives the same answer for every status: both come from functions/core/lifecycle.py."""

from __future__ import annotations

import itertools
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.core import lifecycle
from functions.core.lifecycle import Facts, MessageState, Transition
from functions.core.models import MessageStatus
from functions.shared.dynamo import is_condition_failure, to_item, values

NOW = 1_800_000_000_000
ATTEMPT = 2
TRANSITIONS = [*lifecycle.TRANSITIONS, lifecycle.LOST_ATTEMPT, lifecycle.RETRY.after_lease_ran_out()]


def statuses() -> list[MessageStatus]:
    """Every combination of what a guard reads, around the edges of each check."""
    combinations = itertools.product(
        list(MessageState),
        (ATTEMPT, ATTEMPT + 1),  # attempt
        (False, True),  # cancel requested
        (False, True),  # waiting for a queue slot
        (NOW + 1000, NOW + 1001),  # next delivery: due (within the slack), not due
        (None, NOW - 1, NOW),  # claim until: none, ran out, not yet
    )
    return [
        MessageStatus(
            state=state,
            attempt=attempt,
            cancel_requested=cancel,
            queue_waiting=waiting,
            next_delivery_at_ms=due,
            claim_until_ms=claim,
            updated_at_ms=NOW,
        )
        for state, attempt, cancel, waiting, due, claim in combinations
        if state != MessageState.CANCEL_REQUESTED  # logged only, never a stored state
    ]


def _item(status: MessageStatus, key: str) -> dict[str, Any]:
    return {
        "pk": key,
        "sk": "state",
        "state": status.state.value,
        "attempt": status.attempt,
        "nextDeliveryAt": status.next_delivery_at_ms,
        **({"claimUntil": status.claim_until_ms} if status.claim_until_ms is not None else {}),
        **({"cancelRequested": True} if status.cancel_requested else {}),
        **({"queueWaiting": "q"} if status.queue_waiting else {}),
    }


@pytest.fixture(scope="module")
def table() -> Any:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="guards",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def _written(client: Any, transition: Transition, key: str, facts: Facts) -> bool:
    condition, placeholders = transition.condition(facts)
    try:
        client.update_item(
            TableName="guards",
            Key=to_item({"pk": key, "sk": "state"}),
            UpdateExpression="SET checkedBy = :name",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=values({**placeholders, ":name": transition.name}),
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        assert is_condition_failure(exc)
        return False
    return True


@pytest.mark.parametrize("transition", TRANSITIONS, ids=lambda t: t.name)
def test_the_condition_and_the_check_agree_on_every_status(table: Any, transition: Transition) -> None:
    facts = Facts(ATTEMPT, NOW)
    allowed = 0
    for n, status in enumerate(statuses()):
        key = f"{transition.name}-{n}"
        table.put_item(TableName="guards", Item=to_item(_item(status, key)))
        written = _written(table, transition, key, facts)
        assert written == transition.allows(status, facts), (transition.name, status)
        allowed += written
    assert 0 < allowed < len(statuses())  # each guard lets some statuses through and stops others


@pytest.mark.parametrize("transition", TRANSITIONS, ids=lambda t: t.name)
def test_no_guard_lets_a_missing_message_through(table: Any, transition: Transition) -> None:
    assert not transition.allows(None, Facts(ATTEMPT, NOW))
    assert not _written(table, transition, "never-stored", Facts(ATTEMPT, NOW))


def test_no_transition_leaves_a_final_state_and_each_final_state_is_reached() -> None:
    for transition in lifecycle.TRANSITIONS:
        assert not any(state.is_final for state in transition.sources), transition.name
    assert {t.target for t in lifecycle.TRANSITIONS if t.is_final} == set(lifecycle.FINAL)
