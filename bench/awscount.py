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


def _item_kb(item: Any) -> float:
    return len(json.dumps(item, default=str)) / 1024


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
        session = boto3._get_default_session()  # noqa: SLF001 - the session every Postbox client is made from
        session.events.register("before-call", self._before_call)
        session.events.register("after-call.dynamodb", self._after_dynamodb)

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
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
            units = max(1, math.ceil(_item_kb(parsed["Item"]) / 4))
        elif model.name in ("Query", "Scan"):
            units = max(1, math.ceil(sum(_item_kb(i) for i in parsed.get("Items", [])) / 4))
        elif model.name == "BatchGetItem":
            units = sum(
                max(1, math.ceil(_item_kb(i) / 4)) for items in parsed.get("Responses", {}).values() for i in items
            )
        with self._lock:
            self.rru[path] += units


def _write_units(operation: str, params: dict[str, Any]) -> int:
    """On-demand WRU of a write: 1 per KB of the item (the larger of old and new is billed; the new is counted);
    transactions cost twice."""
    if operation == "PutItem":
        return max(1, math.ceil(_item_kb(params.get("Item", {}))))
    if operation in ("UpdateItem", "DeleteItem"):
        return 1
    if operation == "TransactWriteItems":
        units = 0
        for entry in params.get("TransactItems", []):
            put = entry.get("Put")
            units += 2 * (max(1, math.ceil(_item_kb(put["Item"]))) if put else 1)
        return units
    return 0
