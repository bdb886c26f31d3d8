"""Flow-control state in the counters table: a config item per key, and slot items taken by conditional writes.

Parallelism: slot items `flow#<key>#p#<i>` hold a delivery (holder + lease), so a crashed worker's slot frees
itself when its lease runs out.

Rate: slot items `flow#<key>#r#<i>` hold a delivery too, and are free again (`freeAt`) a full period after the
attempt ended. A request reaches its destination after its slot was taken and before its attempt ends, so two
requests that used one slot reach the destination more than a period apart, however long the worker took between
its clock read and the request, or the request on its way: no period-long window (sliding, not fixed) sees more
than `rate` of them arrive. Taking a slot sets `freeAt` to the end of the attempt's lease plus a period, so the
slot of a worker that died mid-attempt frees itself. (Clocks round down to the millisecond: `freeAt` must be
strictly earlier than the taker's clock.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from functions.core.models import FlowControl
from functions.shared.dynamo import DynamoRepository, epoch_s, from_item, to_item, values
from functions.shared.resources import COUNTERS_TABLE

TTL = COUNTERS_TABLE.ttl_attribute or "expiresAt"
REGISTRY = "flow#keys"


@dataclass(frozen=True)
class FlowState:
    key: str
    parallelism_max: int | None = None
    rate_max: int | None = None
    period_s: int = 1
    paused: bool = False
    pinned_parallelism: int | None = None
    pinned_rate: int | None = None
    pinned_period_s: int | None = None

    def limits(self, flow: FlowControl | None) -> tuple[int | None, int | None, int]:
        """(parallelism, rate, period) in force: pinned values win over the message's own."""
        parallelism = self.pinned_parallelism or (flow.parallelism if flow else self.parallelism_max)
        rate = self.pinned_rate or (flow.rate if flow else self.rate_max)
        period = self.pinned_period_s or (flow.period_s if flow else self.period_s)
        return parallelism, rate, period


def _config_key(key: str) -> dict[str, Any]:
    return to_item({"pk": f"flow#{key}"})


def _slot_key(key: str, kind: str, index: int) -> dict[str, Any]:
    return to_item({"pk": f"flow#{key}#{kind}#{index}"})


class FlowStorePort(Protocol):
    """What the services and the flow limiter use of `FlowRepository`."""

    def record(self, flow: FlowControl) -> None: ...

    def known_keys(self) -> list[str]: ...

    def reset_rate(self, key: str, slots: int) -> None: ...

    def set_fields(self, key: str, sets: Mapping[str, Any], removes: tuple[str, ...] = ()) -> None: ...

    def state(self, key: str) -> FlowState: ...

    def usage(self, key: str, parallelism: int, rate: int, now_ms: int) -> tuple[int, list[int]]: ...

    def take_parallel_slot(self, key: str, index: int, token: str, now_ms: int, lease_until_ms: int) -> bool: ...

    def release_parallel_slot(self, key: str, index: int, token: str) -> None: ...

    def take_rate_slot(
        self, key: str, index: int, token: str, now_ms: int, lease_until_ms: int, period_ms: int
    ) -> bool: ...

    def release_rate_slot(self, key: str, index: int, token: str, ended_ms: int, period_ms: int) -> None: ...


class FlowRepository(DynamoRepository):
    def state(self, key: str) -> FlowState:
        item = self.client.get_item(TableName=self.table_name, Key=_config_key(key), ConsistentRead=True).get("Item")
        return _state(key, from_item(item) if item else {})

    def known_keys(self) -> list[str]:
        item = self.client.get_item(TableName=self.table_name, Key=to_item({"pk": REGISTRY})).get("Item")
        return sorted(from_item(item).get("keys", set())) if item else []

    def record(self, flow: FlowControl) -> None:
        """Remember a key and the limits its latest message asked for (what GET /v2/flowControl shows)."""
        self.client.update_item(
            TableName=self.table_name,
            Key=_config_key(flow.key),
            UpdateExpression="SET parallelismMax = :p, rateMax = :r, ratePeriod = :period",
            ExpressionAttributeValues=values(
                {":p": flow.parallelism or 0, ":r": flow.rate or 0, ":period": flow.period_s}
            ),
        )
        self.client.update_item(
            TableName=self.table_name,
            Key=to_item({"pk": REGISTRY}),
            UpdateExpression="ADD #keys :key",
            ExpressionAttributeNames={"#keys": "keys"},
            ExpressionAttributeValues={":key": {"SS": [flow.key]}},
        )

    def set_fields(self, key: str, sets: Mapping[str, Any], removes: tuple[str, ...] = ()) -> None:
        """Change a key's settings (pause, pin, unpin)."""
        expression = ", ".join(f"{name} = :{name}" for name in sets)
        update = (f"SET {expression}" if sets else "") + (f" REMOVE {', '.join(removes)}" if removes else "")
        arguments: dict[str, Any] = {"TableName": self.table_name, "Key": _config_key(key), "UpdateExpression": update}
        if sets:
            arguments["ExpressionAttributeValues"] = values({f":{name}": value for name, value in sets.items()})
        self.client.update_item(**arguments)

    def take_parallel_slot(self, key: str, index: int, token: str, now_ms: int, lease_until_ms: int) -> bool:
        return self.conditional_update(
            Key=_slot_key(key, "p", index),
            UpdateExpression="SET holder = :token, leaseUntil = :lease, #ttl = :ttl",
            ConditionExpression="attribute_not_exists(holder) OR leaseUntil < :now OR holder = :token",
            ExpressionAttributeNames={"#ttl": TTL},
            ExpressionAttributeValues=values(
                {":token": token, ":lease": lease_until_ms, ":now": now_ms, ":ttl": epoch_s(lease_until_ms) + 86400}
            ),
        )

    def release_parallel_slot(self, key: str, index: int, token: str) -> None:
        self.conditional_update(
            Key=_slot_key(key, "p", index),
            UpdateExpression="REMOVE holder, leaseUntil",
            ConditionExpression="holder = :token",
            ExpressionAttributeValues=values({":token": token}),
        )

    def take_rate_slot(
        self, key: str, index: int, token: str, now_ms: int, lease_until_ms: int, period_ms: int
    ) -> bool:
        return self.conditional_update(
            Key=_slot_key(key, "r", index),
            UpdateExpression="SET holder = :token, lastStart = :now, freeAt = :free, #ttl = :ttl",
            ConditionExpression="attribute_not_exists(freeAt) OR freeAt < :now",
            ExpressionAttributeNames={"#ttl": TTL},
            ExpressionAttributeValues=values(
                {
                    ":token": token,
                    ":now": now_ms,
                    ":free": lease_until_ms + period_ms,
                    ":ttl": epoch_s(lease_until_ms + period_ms) + 86400,
                }
            ),
        )

    def release_rate_slot(self, key: str, index: int, token: str, ended_ms: int, period_ms: int) -> None:
        """The attempt ended at `ended_ms` (read after its answer): the slot is free a period later."""
        self.conditional_update(
            Key=_slot_key(key, "r", index),
            UpdateExpression="SET freeAt = :free REMOVE holder",
            ConditionExpression="holder = :token",
            ExpressionAttributeValues=values({":token": token, ":free": ended_ms + period_ms}),
        )

    def reset_rate(self, key: str, slots: int) -> None:
        for index in range(slots):
            self.client.delete_item(TableName=self.table_name, Key=_slot_key(key, "r", index))

    def usage(self, key: str, parallelism: int, rate: int, now_ms: int) -> tuple[int, list[int]]:
        """(parallel slots held, start times of the rate slots not free yet) — read with one batch per 100 slots."""
        keys = [_slot_key(key, "p", i) for i in range(parallelism)] + [_slot_key(key, "r", i) for i in range(rate)]
        held, starts = 0, []
        for chunk in (keys[i : i + 100] for i in range(0, len(keys), 100)):
            answer = self.client.batch_get_item(RequestItems={self.table_name: {"Keys": chunk}})
            for item in map(from_item, answer.get("Responses", {}).get(self.table_name, [])):
                if "#p#" in item["pk"] and int(item.get("leaseUntil", 0)) >= now_ms:
                    held += 1
                elif "#r#" in item["pk"] and int(item.get("freeAt", 0)) > now_ms:
                    starts.append(int(item["lastStart"]))
        return held, starts


def _state(key: str, item: Mapping[str, Any]) -> FlowState:
    def number(name: str) -> int | None:
        value = item.get(name)
        return int(value) if value else None

    return FlowState(
        key=key,
        parallelism_max=number("parallelismMax"),
        rate_max=number("rateMax"),
        period_s=number("ratePeriod") or 1,
        paused=bool(item.get("paused", False)),
        pinned_parallelism=number("pinnedParallelism"),
        pinned_rate=number("pinnedRate"),
        pinned_period_s=number("pinnedPeriod"),
    )
