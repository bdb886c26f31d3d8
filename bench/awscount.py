"""Counting the AWS requests of a process with botocore event hooks, split by path (publish vs worker) and
with DynamoDB capacity units estimated from item sizes."""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3
import botocore.handlers

from functions.shared.resources import TABLES


class AwsCounter:
    """Counts calls per (path, service, operation); `path_of_thread` names the path of the calling thread."""

    def __init__(self, path_of_thread: Callable[[str], str]) -> None:
        self.path_of_thread = path_of_thread
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self.wru: Counter[str] = Counter()
        self.rru: Counter[str] = Counter()
        self.sqs_chunks: Counter[str] = Counter()
        self._lock = threading.Lock()

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
            if service == "dynamodb":
                self.wru[path] += _write_units(operation, params)
            if service == "sqs" and operation == "SendMessage":
                self.sqs_chunks[path] += max(1, math.ceil(len(params.get("MessageBody", "")) / 65536))

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
        with self._lock:
            self.rru[path] += units


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


_INDEX_KEYS = {
    attribute
    for table in TABLES
    for index in table.indexes
    for attribute in (index.partition_key.name, *([index.sort_key.name] if index.sort_key else []))
}


def _index_writes(item: dict[str, Any] | None, expression: str = "") -> int:
    """GSI writes a table write causes (estimated): one per index key the item carries or the update touches."""
    if item is not None:
        return sum(1 for name in _INDEX_KEYS if name in item)
    return sum(1 for name in _INDEX_KEYS if name in expression)


def _write_units(operation: str, params: dict[str, Any]) -> int:
    """On-demand WRU of a write (estimated): 1 per KB of the item (the larger of old and new is billed; for updates
    the small state items are assumed under 1 KB), twice for a transaction, plus one per GSI write."""

    def units(kind: str, entry: dict[str, Any], factor: int) -> int:
        if kind == "Put":
            item = entry["Item"]
            return factor * max(1, math.ceil(item_kb(item))) + _index_writes(item)
        if kind in ("Update", "Delete"):
            expression = " ".join(str(v) for v in entry.get("ExpressionAttributeNames", {}).values())
            expression += " " + entry.get("UpdateExpression", "")
            return factor + _index_writes(None, expression)
        return factor  # ConditionCheck: billed like a write of the item

    if operation == "PutItem":
        return units("Put", params, 1)
    if operation == "UpdateItem":
        return units("Update", params, 1)
    if operation == "DeleteItem":
        return units("Delete", params, 1)
    if operation == "TransactWriteItems":
        return sum(units(*next(iter(entry.items())), 2) for entry in params.get("TransactItems", []))
    if operation == "BatchWriteItem":
        return sum(
            units("Put", request["PutRequest"], 1) if "PutRequest" in request else 1
            for requests in params.get("RequestItems", {}).values()
            for request in requests
        )
    return 0
