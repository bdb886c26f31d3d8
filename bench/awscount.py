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

from functions.local.moto_patches import BACKEND_LOCK


class AwsCounter:
    """Counts calls per (path, service, operation); `path_of_thread` names the path of the calling thread.

    DynamoDB write units are computed from the items themselves: local mode's moto backend runs in this process,
    so the counter looks at each written item before and after the call (DynamoDB bills the larger of the two,
    1 unit per KB, twice in a transaction, and one more write per index the item is in before or after).
    """

    def __init__(self, path_of_thread: Callable[[str], str]) -> None:
        self.path_of_thread = path_of_thread
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self.wru: Counter[str] = Counter()
        self.rru: Counter[str] = Counter()
        self.sqs_chunks: Counter[str] = Counter()
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
        for table, key, factor, before in getattr(self._writes, "before", []):
            writes += _write_units(table, before, _stored(table, key), factor)
        self._writes.before = []
        with self._lock:
            self.rru[path] += units
            self.wru[path] += writes


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


def _write_units(table_name: str, before: dict[str, Any] | None, after: dict[str, Any] | None, factor: int) -> int:
    """Write units of one item write: the larger image, 1 per KB (times 2 in a transaction), plus the index
    writes (1 per KB of the projected item; an item that changes its index key costs a delete and a put)."""
    largest = max(item_kb(before or {}), item_kb(after or {}))
    units = factor * max(1, math.ceil(largest))
    for index in _table(table_name).global_indexes:
        keys = [k["AttributeName"] for k in index.schema]
        old = (
            tuple(json.dumps(before[k], sort_keys=True) for k in keys)
            if before and all(k in before for k in keys)
            else None
        )
        new = (
            tuple(json.dumps(after[k], sort_keys=True) for k in keys)
            if after and all(k in after for k in keys)
            else None
        )
        if old is None and new is None:
            continue
        size = max(1, math.ceil(item_kb((after if new else before) or {})))
        units += size * (2 if old and new and old != new else 1)
    return units


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
