"""Counting the AWS requests of a process with botocore event hooks, split by path (publish vs worker) and
with DynamoDB capacity units estimated from item sizes."""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3
import botocore.handlers
from moto.dynamodb.models.dynamo_type import DynamoType

from local_mode.moto_patches import BACKEND_LOCK


class AwsCounter:
    """Counts calls per (path, service, operation); `path_of_thread` names the path of the calling thread.

    DynamoDB write units are computed from the items themselves: local mode's moto backend runs in this process,
    so the counter looks at each written item before and after the call (DynamoDB bills the larger of the two,
    1 unit per KB, twice in a transaction, and index writes: see `_write_units`). The units are also counted by the
    partition key value they land on (`by_key`: table or index, key value), for the hottest key's share.
    """

    def __init__(self, path_of_thread: Callable[[str], str]) -> None:
        self.path_of_thread = path_of_thread
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self.wru: Counter[str] = Counter()
        self.rru: Counter[str] = Counter()
        self.sqs_chunks: Counter[str] = Counter()
        self.by_key: Counter[tuple[str, str]] = Counter()  # (table or table/index, partition key value) -> units
        self._lock = threading.Lock()
        self._writes = threading.local()  # the items the current call of this thread writes, as they were
        self.estimate_units = True  # looking at items costs time: off while throughput is measured

    def install(self) -> None:
        """Count the calls of every client made from now on, from any session (moto's `mock_aws` replaces the
        default session when it starts), like moto's own stubber: as a botocore built-in handler."""
        handlers = [
            ("before-parameter-build", self._before_parameter_build),
            ("after-call.dynamodb", self._after_dynamodb),
        ]
        botocore.handlers.BUILTIN_HANDLERS.extend(handlers)
        session = boto3.DEFAULT_SESSION
        if session is not None:
            for event, handler in handlers:
                session.events.register(event, handler)

    def _before_parameter_build(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        """Sees every call once, with the caller's own parameters (not yet serialized)."""
        path = self.path_of_thread(threading.current_thread().name)
        service, operation = model.service_model.service_name, model.name
        with self._lock:
            self.calls[(path, service, operation)] += 1
            if service == "sqs" and operation == "SendMessage":
                self.sqs_chunks[path] += max(1, math.ceil(len(params.get("MessageBody", "")) / 65536))
            if service == "sqs" and operation == "SendMessageBatch":  # billed per 64 KB of the whole batch
                size = sum(len(entry.get("MessageBody", "")) for entry in params.get("Entries", []))
                self.sqs_chunks[path] += max(1, math.ceil(size / 65536))
        if service == "dynamodb" and self.estimate_units:
            self._writes.before = [(*target, _stored(target[0], target[1])) for target in _targets(operation, params)]

    def _after_dynamodb(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        path = self.path_of_thread(threading.current_thread().name)
        units = 0.0
        if model.name == "GetItem" and "Item" in parsed:
            units = max(1, math.ceil(item_kb(parsed["Item"]) / 4))
        elif model.name in ("Query", "Scan"):
            units = max(1, math.ceil(sum(item_kb(i) for i in parsed.get("Items", [])) / 4))
        elif model.name == "BatchGetItem":
            units = sum(
                max(1, math.ceil(item_kb(i) / 4)) for items in parsed.get("Responses", {}).values() for i in items
            )
        writes = 0
        landed: Counter[tuple[str, str]] = Counter()
        for table, key, factor, before in getattr(self._writes, "before", []):
            for target, units_there in _write_units(table, before, _stored(table, key), factor).items():
                writes += units_there
                landed[target] += units_there
        self._writes.before = []
        with self._lock:
            self.rru[path] += units
            self.wru[path] += writes
            if path != "bench":
                self.by_key.update(landed)

    def hottest_key_share(self) -> tuple[str, str, float]:
        """The partition key value (of any table or index) that took the largest share of all write units counted:
        (table or table/index, key value, share)."""
        total = sum(self.by_key.values())
        if not total:
            return ("", "", 0.0)
        (table, key), units = self.by_key.most_common(1)[0]
        return (table, key, units / total)


def _targets(operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any], int]]:
    """(table, key, unit factor) of every item a DynamoDB write call touches."""
    if operation == "PutItem":
        return [(params["TableName"], _key_of(params["TableName"], params["Item"]), 1)]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(params["TableName"], params["Key"], 1)]
    if operation == "TransactWriteItems":
        targets = []
        for entry in params.get("TransactItems", []):
            kind, op = next(iter(entry.items()))
            key = _key_of(op["TableName"], op["Item"]) if kind == "Put" else op["Key"]
            targets.append((op["TableName"], key, 2))
        return targets
    if operation == "BatchWriteItem":
        return [
            (table, _key_of(table, r["PutRequest"]["Item"]) if "PutRequest" in r else r["DeleteRequest"]["Key"], 1)
            for table, requests in params.get("RequestItems", {}).items()
            for r in requests
        ]
    return []


def _table(name: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(name)


def _key_of(table_name: str, item: dict[str, Any]) -> dict[str, Any]:
    table = _table(table_name)
    return {k: item[k] for k in (table.hash_key_attr, table.range_key_attr) if k is not None}


def _stored(table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The item as moto holds it now (typed JSON), or None. Under the backend's lock, and without moto's own
    `get_item`, whose lookup of a missing key inserts an empty entry (moto's item map is a defaultdict): that
    insert, racing a query of another thread, broke the query ("dictionary changed size during iteration")."""
    with BACKEND_LOCK:
        table = _table(table_name)
        by_range = table.items.get(DynamoType(key[table.hash_key_attr]))
        if table.range_key_attr is None:
            item = by_range
        else:
            item = by_range.get(DynamoType(key[table.range_key_attr])) if by_range else None
        return item.to_json()["Attributes"] if item else None


def _write_units(
    table_name: str, before: dict[str, Any] | None, after: dict[str, Any] | None, factor: int
) -> Counter[tuple[str, str]]:
    """Write units of one item write, by the partition key value each lands on: the item, its larger image, 1 per KB
    (times 2 in a transaction); then each index the item is in before or after, 1 per KB of the projected item,
    where an item that changes its index key costs a delete and a put, and an update that changes neither the index's
    keys nor, for an index projecting ALL, any attribute, costs nothing there (KEYS_ONLY: only key changes write)."""
    table = _table(table_name)
    units: Counter[tuple[str, str]] = Counter()
    largest = max(item_kb(before or {}), item_kb(after or {}))
    units[(table_name, _partition_value(before or after or {}, table.hash_key_attr))] += factor * max(
        1, math.ceil(largest)
    )
    for index in table.global_indexes:
        keys = [k["AttributeName"] for k in index.schema]
        old = _index_key(before, keys)
        new = _index_key(after, keys)
        if old is None and new is None:
            continue
        keys_only = (index.projection or {}).get("ProjectionType") == "KEYS_ONLY"
        if old == new and (keys_only or before == after):
            continue  # the index entry is unchanged
        projected = (after if new else before) or {}
        if keys_only:
            projected = {k: v for k, v in projected.items() if k in {*keys, *index.table_key_attrs}}
        size = max(1, math.ceil(item_kb(projected)))
        where = f"{table_name}/{index.name}"
        if old is not None and new is not None and old != new:
            units[(where, old[0])] += size  # the delete of the old entry
            units[(where, new[0])] += size
        else:
            units[(where, (new or old or ("",))[0])] += size
    return units


def _index_key(item: dict[str, Any] | None, keys: list[str]) -> tuple[str, ...] | None:
    if not item or not all(k in item for k in keys):
        return None
    return tuple(json.dumps(item[k], sort_keys=True) for k in keys)


def _partition_value(item: dict[str, Any], attribute: str) -> str:
    return json.dumps(item.get(attribute), sort_keys=True)


def _value_size(value: dict[str, Any]) -> int:
    """Bytes of a typed attribute value by DynamoDB's item-size rules."""
    kind, inner = next(iter(value.items()))
    if kind in ("S", "B"):
        return len(inner.encode() if kind == "S" else inner)
    if kind in ("N", "BOOL", "NULL"):
        return len(str(inner).lstrip("-").replace(".", "")) // 2 + 1 if kind == "N" else 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: v}) for v in inner)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in inner.items())  # M


def item_kb(item: dict[str, Any]) -> float:
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items()) / 1024
