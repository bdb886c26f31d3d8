"""Exact grants for the functions, where CDK's `grant_*` helpers give more than the code uses.

`queue.grant_send_messages` adds GetQueueAttributes and GetQueueUrl (the functions have the queue's URL);
`secret.grant_read` adds DescribeSecret and `grant_write` adds UpdateSecret (the functions read a secret's value
and put a new one). The queue uses SSE-SQS and the secrets the AWS managed key, so no KMS permission is needed.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs


def grant_send(grantee: iam.IGrantable, queue: sqs.IQueue) -> None:
    """SendMessage (which also authorizes SendMessageBatch) to `queue`."""
    iam.Grant.add_to_principal(grantee=grantee, actions=["sqs:SendMessage"], resource_arns=[queue.queue_arn])


def grant_read_secret(grantee: iam.IGrantable, secret: secretsmanager.ISecret) -> None:
    """GetSecretValue of `secret`."""
    iam.Grant.add_to_principal(
        grantee=grantee, actions=["secretsmanager:GetSecretValue"], resource_arns=[secret.secret_arn]
    )


def grant_write_secret(grantee: iam.IGrantable, secret: secretsmanager.ISecret) -> None:
    """PutSecretValue of `secret` (a new version; the secret's settings stay as they are)."""
    iam.Grant.add_to_principal(
        grantee=grantee, actions=["secretsmanager:PutSecretValue"], resource_arns=[secret.secret_arn]
    )
