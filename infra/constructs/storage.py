"""DynamoDB tables, built from the definitions in functions.shared.resources (also used by local mode and tests)."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from functions.shared.resources import TABLES, Key, TableDef


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, definitions: Iterable[TableDef] = TABLES) -> None:
        super().__init__(scope, construct_id)
        self._tables = {definition: _table(self, definition) for definition in definitions}

    def table(self, definition: TableDef) -> dynamodb.Table:
        return self._tables[definition]


def _table(scope: Construct, definition: TableDef) -> dynamodb.Table:
    table = dynamodb.Table(
        scope,
        definition.logical_id,
        partition_key=_attribute(definition.partition_key),
        sort_key=_attribute(definition.sort_key) if definition.sort_key else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute=definition.ttl_attribute,
        removal_policy=RemovalPolicy.RETAIN,
    )
    for index in definition.indexes:
        table.add_global_secondary_index(
            index_name=index.name,
            partition_key=_attribute(index.partition_key),
            sort_key=_attribute(index.sort_key) if index.sort_key else None,
            projection_type=dynamodb.ProjectionType.ALL,
        )
    return table


def _attribute(key: Key) -> dynamodb.Attribute:
    types = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER, "B": dynamodb.AttributeType.BINARY}
    return dynamodb.Attribute(name=key.name, type=types[key.type])
