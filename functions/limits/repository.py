"""Data access for the counters table: fixed-window counters shared by every Lambda instance."""

from __future__ import annotations

from typing import Any, Protocol, cast

from botocore.exceptions import ClientError

from functions.shared.dynamo import DynamoRepository, epoch_s, is_condition_failure, to_item, values
from functions.shared.resources import COUNTERS_TABLE

TTL = COUNTERS_TABLE.ttl_attribute or "expiresAt"


class CounterStorePort(Protocol):
    """What the rate limiter uses of `CounterRepository`."""

    def take(self, key: str, units: int, limit: int, expires_at_ms: int) -> tuple[bool, int]: ...


class CounterRepository(DynamoRepository):
    def take(self, key: str, units: int, limit: int, expires_at_ms: int) -> tuple[bool, int]:
        """Add `units` to the counter `key` (created at 0) unless that would take it past `limit`, in one
        conditional update. Returns whether they were added and the counter's value (after, or as it stands)."""
        try:
            answer = self.client.update_item(
                TableName=self.table_name,
                Key=to_item({"pk": key}),
                UpdateExpression="ADD hits :units SET #ttl = if_not_exists(#ttl, :ttl)",
                ConditionExpression="attribute_not_exists(hits) OR hits <= :room",
                ExpressionAttributeNames={"#ttl": TTL},
                ExpressionAttributeValues=values(
                    {":units": units, ":ttl": epoch_s(expires_at_ms), ":room": limit - units}
                ),
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            old = cast(dict[str, Any], exc.response.get("Item") or {})  # ReturnValuesOnConditionCheckFailure
            return False, int(old.get("hits", {}).get("N", limit))
        return True, int(answer["Attributes"]["hits"]["N"])
