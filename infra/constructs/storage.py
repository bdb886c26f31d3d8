"""DynamoDB tables and the bucket of large bodies, built from the definitions in functions.shared.resources.

The same definitions create the tables and the bucket in local mode and the tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from functions.shared.resources import BODIES_BUCKET, TABLES, BucketDef, Key, TableDef

# Bodies are written with one PutObject; this only keeps an interrupted multipart upload from being billed forever.
INCOMPLETE_UPLOAD_DAYS = 1


TableAccess = Literal["read", "write", "read_write"]


class Storage(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        definitions: Iterable[TableDef] = TABLES,
        bodies: BucketDef = BODIES_BUCKET,
    ) -> None:
        super().__init__(scope, construct_id)
        self._tables = {definition: _table(self, definition) for definition in definitions}
        self.bodies_bucket = _bucket(self, bodies)

    def table(self, definition: TableDef) -> dynamodb.Table:
        return self._tables[definition]

    def grant(self, grantee: iam.IGrantable, access: Mapping[TableDef, TableAccess]) -> None:
        """Give a function exactly the table access of its matrix (one line per table, with its reason)."""
        for definition, level in access.items():
            table = self._tables[definition]
            if level == "read":
                table.grant_read_data(grantee)
            elif level == "write":
                table.grant_write_data(grantee)
            else:
                table.grant_read_write_data(grantee)


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


def _bucket(scope: Construct, definition: BucketDef) -> s3.Bucket:
    """Private, TLS only, S3-managed encryption, unversioned (bodies are written once), emptied by expiry."""
    return s3.Bucket(
        scope,
        definition.logical_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        encryption=s3.BucketEncryption.S3_MANAGED,
        versioned=False,
        lifecycle_rules=[
            s3.LifecycleRule(
                expiration=Duration.days(definition.expiration_days),
                abort_incomplete_multipart_upload_after=Duration.days(INCOMPLETE_UPLOAD_DAYS),
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )


def _attribute(key: Key) -> dynamodb.Attribute:
    types = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER, "B": dynamodb.AttributeType.BINARY}
    return dynamodb.Attribute(name=key.name, type=types[key.type])
