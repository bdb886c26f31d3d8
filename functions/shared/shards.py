"""Write shards: listings by time spread over `WRITE_SHARDS` partition key values, read back in one order.

A record's shard is computed from its id (a message id, a DLQ id), so one record is always found under the same key,
and no partition key value takes more than about 1/WRITE_SHARDS of the writes. A listing queries every shard and
merges the answers by the sort key (UUIDv7 ids: creation order); each shard is read lazily, a page at a time.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from functions.shared.dynamo import from_item
from functions.shared.resources import WRITE_SHARDS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_MAX_PAGE = 1000


def shard_of(identifier: str) -> int:
    """The write shard of a record, from its id."""
    return zlib.crc32(identifier.encode()) % WRITE_SHARDS


def shard_key(prefix: str, identifier: str) -> str:
    """`<prefix>#<shard>`: the partition key value of a record listed under `prefix`."""
    return f"{prefix}#{shard_of(identifier)}"


def merged(
    client: DynamoDBClient,
    prefix: str,
    query: dict[str, Any],
    *,
    sort_attribute: str,
    descending: bool,
    first_page: int,
) -> Iterator[dict[str, Any]]:
    """The items of every shard `<prefix>#0..N-1` that `query` selects (its KeyConditionExpression compares the
    partition key with `:shard`, set for each shard), in `sort_attribute` order across shards. Each shard is read
    `first_page` items at first, then in pages twice as large, only as far as the merge needs."""
    shards = [
        _shard_items(client, {**query, "ScanIndexForward": not descending}, f"{prefix}#{shard}", first_page)
        for shard in range(WRITE_SHARDS)
    ]
    return heapq.merge(*shards, key=lambda item: str(item[sort_attribute]), reverse=descending)


def _shard_items(
    client: DynamoDBClient, query: dict[str, Any], shard: str, first_page: int
) -> Iterator[dict[str, Any]]:
    arguments = {
        **query,
        "ExpressionAttributeValues": {**query.get("ExpressionAttributeValues", {}), ":shard": {"S": shard}},
    }
    limit = max(1, first_page)
    while True:
        page = client.query(**arguments, Limit=limit)
        yield from map(from_item, page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        limit = min(limit * 2, _MAX_PAGE)
