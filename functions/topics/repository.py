"""Data access for the URL groups table: one item per group, listed by name through the `all` index."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from functions.shared.dynamo import DynamoRepository, from_item, to_item, values
from functions.shared.resources import TOPICS_TABLE
from functions.topics.models import Endpoint, Topic

LISTING = "topic"
ALL = TOPICS_TABLE.indexes[0].name


class TopicStorePort(Protocol):
    """What the services use of `TopicRepository`."""

    def get(self, name: str) -> Topic | None: ...

    def list(self) -> list[Topic]: ...

    def save(self, topic: Topic, expected_version: int | None) -> bool: ...

    def delete(self, name: str, expected_version: int | None = None) -> bool: ...


class TopicRepository(DynamoRepository):
    def get(self, name: str) -> Topic | None:
        item = self.client.get_item(TableName=self.table_name, Key=to_item({"name": name}), ConsistentRead=True).get(
            "Item"
        )
        return _topic(from_item(item)) if item else None

    def list(self) -> list[Topic]:
        return [_topic(item) for item in self.listing(ALL, LISTING)]

    def save(self, topic: Topic, expected_version: int | None) -> bool:
        """Write `topic` if the stored one still has `expected_version` (None: none stored). False on a conflict."""
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": _item(topic.model_copy(update={"version": (expected_version or 0) + 1})),
        }
        if expected_version is None:
            arguments |= {
                "ConditionExpression": "attribute_not_exists(#name)",
                "ExpressionAttributeNames": {"#name": "name"},
            }
        else:
            arguments |= {
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": values({":expected": expected_version}),
            }
        return self.conditional(self.client.put_item, **arguments)

    def delete(self, name: str, expected_version: int | None = None) -> bool:
        """Delete the group (if it still has `expected_version`, when given). False on a conflict."""
        arguments: dict[str, Any] = {"TableName": self.table_name, "Key": to_item({"name": name})}
        if expected_version is not None:
            arguments |= {
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": values({":expected": expected_version}),
            }
        return self.conditional(self.client.delete_item, **arguments)


def _item(topic: Topic) -> dict[str, Any]:
    return to_item(
        {
            "name": topic.name,
            "listing": LISTING,
            "endpoints": [{k: v for k, v in e.model_dump().items() if v is not None} for e in topic.endpoints],
            "createdAt": topic.created_at_ms,
            "updatedAt": topic.updated_at_ms,
            "version": topic.version,
        }
    )


def _topic(item: Mapping[str, Any]) -> Topic:
    return Topic(
        name=item["name"],
        endpoints=tuple(Endpoint(url=e["url"], name=e.get("name")) for e in item.get("endpoints", [])),
        created_at_ms=int(item["createdAt"]),
        updated_at_ms=int(item["updatedAt"]),
        version=int(item.get("version", 0)),
    )
