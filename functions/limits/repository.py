"""Data access for the counters table: fixed-window counters shared by every Lambda instance."""

from __future__ import annotations

from functions.shared.dynamo import DynamoRepository, to_item, values
from functions.shared.resources import COUNTERS_TABLE

TTL = COUNTERS_TABLE.ttl_attribute or "expiresAt"


class CounterRepository(DynamoRepository):
    def increment(self, key: str, expires_at_s: int) -> int:
        """Add one to the counter `key` (created at 0) and return its new value: one atomic update."""
        answer = self.client.update_item(
            TableName=self.table_name,
            Key=to_item({"pk": key}),
            UpdateExpression="ADD hits :one SET #ttl = if_not_exists(#ttl, :ttl)",
            ExpressionAttributeNames={"#ttl": TTL},
            ExpressionAttributeValues=values({":one": 1, ":ttl": expires_at_s}),
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["hits"]["N"])
