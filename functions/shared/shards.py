"""Write shards: listings by time spread over `WRITE_SHARDS` partition key values, read back in one order.

A record's shard is computed from its id (a message id, a DLQ id), so one record is always found under the same key,
and no partition key value takes more than about 1/WRITE_SHARDS of the writes. A listing queries every shard (the
first page of each at once) and merges the answers by the sort key (UUIDv7 ids: creation order); each shard goes on
lazily, a page at a time.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TYPE_CHECKING, Any

from functions.shared.dynamo import from_item
from functions.shared.resources import WRITE_SHARDS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_MAX_PAGE = 1000
_CONCURRENT_READS = 16


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
    partition key with `:shard`, set for each shard), in `sort_attribute` order across shards. Each shard's first
    page (`first_page` items) is read at once for all shards, concurrently; then each goes on in pages twice as
    large, only as far as the merge needs."""
    arguments = [
        {
            **query,
            "ScanIndexForward": not descending,
            "ExpressionAttributeValues": {
                **query.get("ExpressionAttributeValues", {}),
                ":shard": {"S": f"{prefix}#{n}"},
            },
            "Limit": max(1, first_page),
        }
        for n in range(WRITE_SHARDS)
    ]
    first_pages = list(_readers().map(lambda shard_query: client.query(**shard_query), arguments))
    shards = [_shard_items(client, shard_query, page) for shard_query, page in zip(arguments, first_pages, strict=True)]
    return heapq.merge(*shards, key=lambda item: str(item[sort_attribute]), reverse=descending)


@cache
def _readers() -> ThreadPoolExecutor:
    """The threads that read the shards' first pages (boto3 clients may be shared between threads)."""
    return ThreadPoolExecutor(max_workers=_CONCURRENT_READS, thread_name_prefix="shard-read")


def _shard_items(client: DynamoDBClient, arguments: dict[str, Any], page: Any) -> Iterator[dict[str, Any]]:
    while True:
        yield from map(from_item, page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return
        arguments = {
            **arguments,
            "ExclusiveStartKey": page["LastEvaluatedKey"],
            "Limit": min(arguments["Limit"] * 2, _MAX_PAGE),
        }
        page = client.query(**arguments)
