"""Small helpers around the low-level DynamoDB client."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
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

    @property
    def injected_client(self) -> DynamoDBClient | None:
        """The client given to this repository, if any: the stores built on it use the same."""
        return self._client

    def conditional(self, write: Callable[..., object], **arguments: Any) -> bool:
        """`write` (the client's put_item, update_item or delete_item) on this table; False (not an error) when its
        condition does not hold."""
        try:
            write(**{"TableName": self.table_name, **arguments})
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def conditional_update(self, **arguments: Any) -> bool:
        """An `update_item` on this table; False (not an error) when its condition does not hold."""
        return self.conditional(self.client.update_item, **arguments)

    def update_paused(self, key: Mapping[str, Any], exists_attribute: str, paused: bool, now_ms: int) -> bool:
        """Pause or resume the item at `key` (queues, schedules); False when there is no such item."""
        return self.conditional_update(
            Key=to_item(key),
            UpdateExpression="SET paused = :paused, updatedAt = :now",
            ConditionExpression=f"attribute_exists({exists_attribute})",
            ExpressionAttributeValues=values({":paused": paused, ":now": now_ms}),
        )

    def batch_get(
        self, keys: Sequence[Mapping[str, Any]], projection: str | None = None, names: Mapping[str, str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """The items at `keys` that exist (strongly consistent), `projection`'s attributes only when given: one
        BatchGetItem per 100 keys, and again for any it leaves unprocessed."""
        for start in range(0, len(keys), 100):
            wanted: dict[str, Any] = {"Keys": list(keys[start : start + 100]), "ConsistentRead": True}
            if projection:
                wanted["ProjectionExpression"] = projection
            if names:
                wanted["ExpressionAttributeNames"] = dict(names)
            request: dict[str, Any] = {self.table_name: wanted}
            while request:
                answer = self.client.batch_get_item(RequestItems=request)
                yield from map(from_item, answer.get("Responses", {}).get(self.table_name, []))
                request = answer.get("UnprocessedKeys") or {}

    def listing(self, index_name: str, listing: str) -> Iterator[dict[str, Any]]:
        """Every item of a single-partition `listing` index (URL groups, queues, schedules), in key order."""
        query = {
            "TableName": self.table_name,
            "IndexName": index_name,
            "KeyConditionExpression": "listing = :listing",
            "ExpressionAttributeValues": values({":listing": listing}),
        }
        return query_all(self.client, query)


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


def epoch_s(time_ms: int) -> int:
    """A time as DynamoDB's TTL attributes hold it (unix seconds). The stores take every time in ms, the unit of the
    rest of Postbox, and convert here when they read or write such an attribute."""
    return time_ms // 1000


def is_expired(values: Mapping[str, Any], ttl_attribute: str, now_ms: int) -> bool:
    """DynamoDB deletes expired items up to 48 h late (moto never does): reads must ignore them."""
    expires = values.get(ttl_attribute)
    return expires is not None and int(expires) <= epoch_s(now_ms)


class Conditions:
    """Builds a condition or filter expression from optional parts (a part whose value is None is left out)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.parts: list[str] = []

    def equals(self, attribute: str, value: Any) -> Conditions:
        if value is not None:
            token = self._name(attribute)
            self.values[f":{token[1:]}"] = value
            self.parts.append(f"{token} = :{token[1:]}")
        return self

    def one_of(self, attribute: str, options: Sequence[Any]) -> Conditions:
        if options:
            token = self._name(attribute)
            placeholders = []
            for i, option in enumerate(options):
                self.values[f":{token[1:]}{i}"] = option
                placeholders.append(f":{token[1:]}{i}")
            self.parts.append(f"{token} IN ({', '.join(placeholders)})")
        return self

    def at_least(self, attribute: str, value: Any) -> Conditions:
        if value is not None:
            token = self._name(attribute)
            self.values[f":{token[1:]}Min"] = value
            self.parts.append(f"{token} >= :{token[1:]}Min")
        return self

    def at_most(self, attribute: str, value: Any) -> Conditions:
        if value is not None:
            token = self._name(attribute)
            self.values[f":{token[1:]}Max"] = value
            self.parts.append(f"{token} <= :{token[1:]}Max")
        return self

    def not_expired(self, ttl_attribute: str, now_ms: int) -> Conditions:
        token = self._name(ttl_attribute)
        self.values[":nowS"] = epoch_s(now_ms)
        self.parts.append(f"(attribute_not_exists({token}) OR {token} > :nowS)")
        return self

    def query_arguments(self, key_condition: str, **key_values: Any) -> dict[str, Any]:
        """A query's `KeyConditionExpression` (placeholders `:<name>` for `key_values`), this filter, and their
        attribute names and values."""
        arguments: dict[str, Any] = {"KeyConditionExpression": key_condition}
        if self.parts:
            arguments["FilterExpression"] = " AND ".join(self.parts)
        if self.names:
            arguments["ExpressionAttributeNames"] = dict(self.names)
        arguments["ExpressionAttributeValues"] = values(
            {**self.values, **{f":{name}": value for name, value in key_values.items()}}
        )
        return arguments

    def _name(self, attribute: str) -> str:
        token = f"#{attribute}"
        self.names[token] = attribute
        return token


def query_all(client: DynamoDBClient, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item a query matches, page after page, deserialized."""
    while True:
        page = client.query(**query)
        yield from map(from_item, page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return
        query = {**query, "ExclusiveStartKey": page["LastEvaluatedKey"]}
