"""DynamoDB tables and the bucket of large bodies, built from the definitions in functions.shared.resources.

The same definitions create the tables and the bucket in local mode and the tests.

Encryption at rest: the tables use the AWS managed key (`aws/dynamodb`), so their encryption is explicit in the
template and every use of the key is in CloudTrail, with no key to administer, pay for monthly or grant to the
functions (DynamoDB uses it on behalf of any principal allowed on the table). A customer managed key would add
only key-policy control, which nothing here needs. The buckets use S3-managed keys (SSE-S3): server access logs
can only be delivered to an SSE-S3 bucket, and the bodies bucket keeps the same setting as it has always had.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from functions.shared.resources import BODIES_BUCKET, TABLES, BucketDef, Key, TableDef
from infra.constructs.nag import logical_id

# Bodies are written with one PutObject; this only keeps an interrupted multipart upload from being billed forever.
INCOMPLETE_UPLOAD_DAYS = 1


TableAccess = Literal["read", "write", "read_write"]

# The DynamoDB actions the functions' code performs, and nothing else (no Scan, no PartiQL, no streams, no
# DescribeTable). TransactWriteItems is authorized per item by PutItem / UpdateItem / DeleteItem.
# tests/infra/test_stack.py checks that every DynamoDB call made in functions/ is covered.
TABLE_READ_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")
TABLE_WRITE_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
# Bodies are put once and read back (claim check); the lifecycle rule deletes them.
BODY_ACTIONS = ("s3:PutObject", "s3:GetObject")


class Storage(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        log_retention_days: int,
        definitions: Iterable[TableDef] = TABLES,
        bodies: BucketDef = BODIES_BUCKET,
    ) -> None:
        super().__init__(scope, construct_id)
        self._tables = {definition: _table(self, definition) for definition in definitions}
        self.access_logs_bucket = _access_logs_bucket(self, log_retention_days)
        self.bodies_bucket = _bucket(self, bodies, self.access_logs_bucket)

    def table(self, definition: TableDef) -> dynamodb.Table:
        return self._tables[definition]

    def grant(self, grantee: iam.IGrantable, access: Mapping[TableDef, TableAccess]) -> None:
        """Give a function exactly the table access of its matrix (one line per table, with its reason).

        Reads cover the table and each of its indexes by name (not `index/*`); writes cover the table only.
        """
        for definition, level in access.items():
            table = self._tables[definition]
            actions = {
                "read": TABLE_READ_ACTIONS,
                "write": TABLE_WRITE_ACTIONS,
                "read_write": TABLE_READ_ACTIONS + TABLE_WRITE_ACTIONS,
            }[level]
            resources = [table.table_arn]
            if level != "write":
                resources += [f"{table.table_arn}/index/{index.name}" for index in definition.indexes]
            iam.Grant.add_to_principal(grantee=grantee, actions=list(actions), resource_arns=resources)

    def grant_bodies(self, grantee: iam.IGrantable) -> None:
        """Let a function put and get body objects: nothing on the bucket itself, no delete, no ACLs."""
        iam.Grant.add_to_principal(
            grantee=grantee, actions=list(BODY_ACTIONS), resource_arns=[self.bodies_bucket.arn_for_objects("*")]
        )
        bucket_id = logical_id(self.bodies_bucket.node.default_child)
        principal = grantee.grant_principal
        if isinstance(principal, iam.Role):
            NagSuppressions.add_resource_suppressions(
                principal,
                [
                    NagPackSuppression(
                        id="AwsSolutions-IAM5",
                        reason=(
                            "Body objects are keyed by message id, created at run time: the grant is PutObject and "
                            "GetObject on the objects of this stack's bodies bucket, which holds nothing else."
                        ),
                        applies_to=[f"Resource::<{bucket_id}.Arn>/*"],
                    )
                ],
                apply_to_children=True,  # the role's default policy, which holds the statement
            )


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
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        removal_policy=RemovalPolicy.RETAIN,
    )
    for index in definition.indexes:
        table.add_global_secondary_index(
            index_name=index.name,
            partition_key=_attribute(index.partition_key),
            sort_key=_attribute(index.sort_key) if index.sort_key else None,
            projection_type=dynamodb.ProjectionType(index.projection),
        )
    return table


def _bucket(scope: Construct, definition: BucketDef, access_logs: s3.IBucket) -> s3.Bucket:
    """Private, TLS only, S3-managed encryption, unversioned (bodies are written once), emptied by expiry, with
    server access logs."""
    return s3.Bucket(
        scope,
        definition.logical_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        encryption=s3.BucketEncryption.S3_MANAGED,
        versioned=False,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=f"{definition.logical_id}/",
        lifecycle_rules=[
            s3.LifecycleRule(
                expiration=Duration.days(definition.expiration_days),
                abort_incomplete_multipart_upload_after=Duration.days(INCOMPLETE_UPLOAD_DAYS),
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )


def _access_logs_bucket(scope: Construct, retention_days: int) -> s3.Bucket:
    """Where S3 writes the bodies bucket's server access logs: private, TLS only, SSE-S3 (the only encryption
    log delivery supports), owner-enforced objects, logs expiring after the stack's log retention."""
    bucket = s3.Bucket(
        scope,
        "AccessLogsBucket",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        encryption=s3.BucketEncryption.S3_MANAGED,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=False,
        lifecycle_rules=[
            s3.LifecycleRule(
                expiration=Duration.days(retention_days),
                abort_incomplete_multipart_upload_after=Duration.days(INCOMPLETE_UPLOAD_DAYS),
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )
    NagSuppressions.add_resource_suppressions(
        bucket,
        [
            NagPackSuppression(
                id="AwsSolutions-S1",
                reason="This is the access-log bucket itself: logging it would write logs of its own log deliveries.",
            )
        ],
    )
    return bucket


def _attribute(key: Key) -> dynamodb.Attribute:
    types = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER, "B": dynamodb.AttributeType.BINARY}
    return dynamodb.Attribute(name=key.name, type=types[key.type])
