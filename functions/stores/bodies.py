"""Claim check: bodies too large for a DynamoDB item live in S3; the item keeps the object key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from functions.shared import aws

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class BodyStore(Protocol):
    def put(self, key: str, body: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...


class S3BodyStore:
    def __init__(self, bucket: str, client: S3Client | None = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> S3Client:
        return self._client or aws.s3()

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body)

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()


def body_key(message_id: str) -> str:
    return f"bodies/{message_id}"
