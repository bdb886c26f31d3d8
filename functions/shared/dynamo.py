"""Small helpers around the low-level DynamoDB client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from functions.shared import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class DynamoRepository:
    """Base of the per-table repositories: the table name and an injectable client (default: the process's)."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()


def to_item(values: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    """Python values to a DynamoDB item; None values are left out."""
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    values = {k: _deserializer.deserialize(v) for k, v in item.items()}
    # Binary attributes come back as boto3 Binary wrappers: unwrap them to bytes.
    return {k: bytes(v) if hasattr(v, "value") and isinstance(v.value, bytes) else v for k, v in values.items()}


def values(mapping: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    """Expression attribute values (`{":x": 1}`) serialized."""
    return {k: _serializer.serialize(v) for k, v in mapping.items()}


def is_condition_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def cancellation_reasons(exc: ClientError) -> list[str]:
    """The per-item codes of a cancelled transaction (`ConditionalCheckFailed`, `None`, ...)."""
    reasons: list[dict[str, Any]] = exc.response.get("CancellationReasons", [])  # type: ignore[assignment]
    return [str(reason.get("Code", "None")) for reason in reasons]


def is_expired(values: Mapping[str, Any], ttl_attribute: str, now_s: int) -> bool:
    """DynamoDB deletes expired items up to 48 h late (moto never does): reads must ignore them."""
    expires = values.get(ttl_attribute)
    return expires is not None and int(expires) <= now_s
