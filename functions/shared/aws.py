"""boto3 clients: created lazily, once per process, and replaceable in tests."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)


@cache
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def sqs() -> SQSClient:
    return boto3.client("sqs", config=_CONFIG)


@cache
def secretsmanager() -> SecretsManagerClient:
    return boto3.client("secretsmanager", config=_CONFIG)


@cache
def s3() -> S3Client:
    return boto3.client("s3", config=_CONFIG)


@cache
def scheduler() -> EventBridgeSchedulerClient:
    return boto3.client("scheduler", config=_CONFIG)


def reset_clients() -> None:
    """Forget the cached clients (tests and local mode call this after changing the endpoint)."""
    for factory in (dynamodb, sqs, secretsmanager, s3, scheduler):
        factory.cache_clear()
