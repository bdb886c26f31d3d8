"""Changes to moto for local mode: one lock around every backend request, and DynamoDB transactions and queries
that cost what the items they touch cost.

moto's backends are not thread-safe: two concurrent transactions can interleave their condition checks and
writes, which DynamoDB never does (and Postbox's correctness rests on conditional writes). Local mode serves
its own handlers in-process and other processes (a worker process, the AWS CLI) through a moto server over the
same state; both paths take `BACKEND_LOCK`, which gives local mode DynamoDB's per-request atomicity.

moto backs up every table a transaction touches with `copy.deepcopy` before applying it, so one transaction
takes time in proportion to the whole table: local mode slowed down with every message it had stored (45 ms a
publish after 200 messages). This replacement keeps moto's checks and semantics (all or nothing; on a failed
condition `TransactionCanceledException` with one reason per item) but backs up only the items it writes.
The lock keeps anything from interleaving with a transaction.

moto also answers a query of a table's own key by sorting every item of the table and keeping those with the
asked partition key, so reading a message (a query of its two items) slowed down as the table grew (tens of ms
after 10,000 messages). The replacement hands moto's query only that partition's items in the asked sort key range
(a write shard's listing of the last minute's messages otherwise had moto work through every message of the shard).
An index query sorted
every item of the table too, before keeping those with the asked index key: the worker's sweep of overdue
messages (a query of the sparse `pending` index) took 100-140 ms after 10,000 messages, and held up every API
call meanwhile. The replacement hands moto only the items with the asked index key values, in the same order.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from moto.core.botocore_stubber import BotocoreStubber
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

from local_mode import moto_speedups

BACKEND_LOCK = threading.RLock()
_MOTO_TRANSACT = DynamoDBBackend.transact_write_items
_MOTO_STUB = BotocoreStubber.__call__
_MOTO_QUERY = Table.query
_INDEX_NAME_POSITION = (
    7  # Table.query(hash_key, range_comparison, range_objs, limit, start, forward, projection, index)
)
_OPERATIONS = {"ConditionCheck", "Put", "Delete", "Update"}


class _ConditionFailed(Exception):
    def __init__(self, item: dict[str, Any] | None) -> None:
        self.item = item


Backup = tuple[str, dict[str, Any], dict[str, Any] | None]  # table, key, the item before (None: absent)


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    backups: list[Backup] = []
    seen: set[tuple[str, str]] = set()
    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        try:
            _apply(self, *next(iter(entry.items())), seen, backups)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            _rollback(self, backups)
            raise
        except _ConditionFailed as e:
            errors.append(("ConditionalCheckFailed", str(ConditionalCheckFailed().message), e.item))
        except Exception as e:  # noqa: BLE001 - moto reports any failure as the item's cancellation reason
            errors.append((type(e).__name__, str(e), None))
    if any(code is not None for code, _, _ in errors):
        _rollback(self, backups)
        raise TransactionCanceledException(errors)


def _apply(
    self: DynamoDBBackend, op_type: str, op: dict[str, Any], seen: set[tuple[str, str]], backups: list[Backup]
) -> None:
    if op_type not in _OPERATIONS:
        raise ValueError("Unsupported transaction operation")
    table_name = op["TableName"]
    key = _key_of(self, table_name, op["Item"]) if op_type == "Put" else op["Key"]
    marker = (str(table_name), str(dict(sorted(key.items()))))
    if marker in seen:
        raise MultipleTransactionsException()
    seen.add(marker)

    current = self.get_item(table_name, key)
    names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    condition = op.get("ConditionExpression")
    if condition is not None and not get_filter_expression(condition, names, values).expr(current):
        wants_old = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
        raise _ConditionFailed(current.to_json()["Attributes"] if wants_old and current else None)
    if op_type == "ConditionCheck":
        return
    backups.append((table_name, key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
    if op_type == "Put":
        self.put_item(table_name, op["Item"])
    elif op_type == "Delete":
        self.delete_item(table_name, key)
    else:
        self.update_item(
            table_name,
            key,
            update_expression=op["UpdateExpression"],
            expression_attribute_names=names or {},
            expression_attribute_values=values or {},
        )


def _key_of(self: DynamoDBBackend, table_name: str, item: dict[str, Any]) -> dict[str, Any]:
    table = self.get_table(table_name)
    key = {table.hash_key_attr: item[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = item[table.range_key_attr]
    return key


def _rollback(self: DynamoDBBackend, backups: list[Backup]) -> None:
    for table_name, key, before in reversed(backups):
        if before is None:
            self.delete_item(table_name, key)
        else:
            self.put_item(table_name, before)


def _query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    index_name = args[_INDEX_NAME_POSITION - 1] if len(args) >= _INDEX_NAME_POSITION else kwargs.get("index_name")
    conditions = kwargs.get("hash_key_conditions") or []
    if hash_key is None or (index_name and not conditions):
        return _MOTO_QUERY(self, hash_key, *args, **kwargs)
    if index_name:  # the items with the asked index key values (moto checks them again, as before)
        found = _with_values(self, conditions)
    else:
        partition: Any = self.items.get(hash_key)  # {range key: Item} on a table with a sort key, else the Item
        found = [] if partition is None else list(partition.values()) if self.range_key_attr else [partition]
        range_comparison, range_objs = (args[0], args[1]) if len(args) >= 2 else (None, [])
        if range_comparison and self.range_key_attr:  # and within it, the items in the asked sort key range
            found = _in_range(found, range_comparison, range_objs)
    # In the order moto's own `all_items` gives (which sorts every item of the table to give it).
    ordered = sorted(found, key=lambda item: (item.hash_key, item.range_key) if item.range_key else item.hash_key)
    self.all_items = lambda: ordered  # type: ignore[method-assign]
    try:
        return _MOTO_QUERY(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


_STRING_RANGES = {
    "BETWEEN": lambda key, bounds: bounds[0] <= key <= bounds[1],
    ">=": lambda key, bounds: key >= bounds[0],
    ">": lambda key, bounds: key > bounds[0],
    "<=": lambda key, bounds: key <= bounds[0],
    "<": lambda key, bounds: key < bounds[0],
    "=": lambda key, bounds: key == bounds[0],
}


def _in_range(items: list[Any], comparison: str, bounds: list[DynamoType]) -> list[Any]:
    """The items whose sort key meets the query's key condition (moto checks them again)."""
    check = _STRING_RANGES.get(comparison)
    if check is None or any(bound.type != "S" for bound in bounds):  # moto's own comparison, item by item
        return [item for item in items if item.range_key.compare(comparison, bounds)]
    values = [bound.value for bound in bounds]
    return [item for item in items if item.range_key.type != "S" or check(item.range_key.value, values)]


def _with_values(table: Table, conditions: list[tuple[str, DynamoType]]) -> list[Any]:
    """The items of `table` whose attributes have the values of `conditions` (moto's equality)."""
    entries: Any = table.items.values()
    items = (item for entry in entries for item in entry.values()) if table.range_key_attr else iter(entries)
    if len(conditions) == 1 and conditions[0][1].type == "S":  # every index of Postbox's: one string key
        name, value = conditions[0][0], conditions[0][1].value
        return [item for item in items if (found := item.attrs.get(name)) is not None and found.value == value]
    return [
        item
        for item in items
        if all((found := item.attrs.get(name)) is not None and found == wanted for name, wanted in conditions)
    ]


def _serialized_stub(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
    if getattr(kwargs.get("request"), "injected_fault", False):
        return None  # answered by an injected fault (local_mode.faults): never reaches the backend
    with BACKEND_LOCK:
        return _MOTO_STUB(self, *args, **kwargs)


def install() -> None:
    """Serialize in-process (`mock_aws`) requests on `BACKEND_LOCK`, back transactions up by item, and query a
    table's own key within its partition and an index among the items with its key."""
    moto_speedups.install()
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    BotocoreStubber.__call__ = _serialized_stub  # type: ignore[method-assign]
    Table.query = _query  # type: ignore[method-assign]


def uninstall() -> None:
    moto_speedups.uninstall()
    DynamoDBBackend.transact_write_items = _MOTO_TRANSACT  # type: ignore[method-assign]
    BotocoreStubber.__call__ = _MOTO_STUB  # type: ignore[method-assign]
    Table.query = _MOTO_QUERY  # type: ignore[method-assign]
