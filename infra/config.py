"""Deployment settings of the CDK app, read from the `postbox:*` context keys of cdk.json.

Plain data: no CDK import at runtime (so `python -m infra.build` stays fast), and no boto3, STS, git or network.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from functions.shared.ssrf import AddressPolicy

if TYPE_CHECKING:
    from constructs import Node

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONTEXT_PREFIX = "postbox:"

# The values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)

API_GATEWAY_TIMEOUT_SECONDS = 30

# Defaults of the optional context keys (cdk.json sets them too, so they are visible there).
DEFAULT_API_THROTTLE_RATE = 100  # requests per second, steady state, across the whole API (stage default route)
DEFAULT_API_THROTTLE_BURST = 200  # requests above the rate that may arrive at once
# Longer than the longest SQS delay (900 s) plus one visibility timeout (900 s): a record older than that is
# waiting for a worker that does not take it (or its attempts keep failing), not merely delayed.
DEFAULT_QUEUE_AGE_ALARM_SECONDS = 1800
# How many worker invocations the delivery queue's event source may run at once: without a cap, a slow destination
# lets it scale the worker to the account's whole Lambda pool (as low as 10 in a new account) and the API throttles.
DEFAULT_WORKER_MAX_CONCURRENCY = 5
# The functions' processor: Graviton (arm64) by default, about 20 % cheaper per GB-second than x86_64.
ARCHITECTURES = ("arm64", "x86_64")
DEFAULT_ARCHITECTURE = "arm64"
WORKER_MAX_CONCURRENCY_RANGE = range(2, 1001)  # what SQS event sources allow
# What receives the API's HTTPS requests: API Gateway's HTTP API (stage throttling, access log; $1.00 per million
# requests) or the API function's own Lambda function URL (no charge of its own).
FRONT_DOORS = ("httpApi", "functionUrl")
DEFAULT_FRONT_DOOR = "httpApi"


@dataclass(frozen=True)
class InfraConfig:
    stack_name: str
    lambda_asset_dir: Path  # the staged `functions/` package (`make build`); relative paths are from the project root
    layer_asset_dir: Path  # the dependency layer folder holding `python/` (`make build`)
    api_memory_mb: int
    api_timeout_seconds: int
    worker_memory_mb: int
    log_retention_days: int
    # X-Ray tracing of the functions: off by default, since X-Ray bills every trace and importing its SDK slows every
    # cold start; logs (with correlation ids) and metrics stay on either way.
    tracing: bool
    # Throttling of the HTTP API's stage (every route): over it, API Gateway answers 429 without invoking the API.
    api_throttle_rate: int = DEFAULT_API_THROTTLE_RATE
    api_throttle_burst: int = DEFAULT_API_THROTTLE_BURST
    # The delivery queue's oldest record may be this old before its alarm goes off.
    queue_age_alarm_seconds: int = DEFAULT_QUEUE_AGE_ALARM_SECONDS
    # Subscribed (by email, confirmed by its owner) to the alarms' SNS topic; none when empty.
    alarm_email: str | None = None
    # Private ranges the SSRF guard lets deliveries and callbacks reach (DESTINATION_ALLOW_CIDRS); none by default.
    destination_allow_cidrs: tuple[str, ...] = ()
    architecture: str = DEFAULT_ARCHITECTURE
    worker_max_concurrency: int = DEFAULT_WORKER_MAX_CONCURRENCY
    # Concurrency reserved for the worker out of the account's pool; none by default (reserving fails to deploy on an
    # account whose pool would be left with less than 10).
    worker_reserved_concurrency: int | None = None
    front_door: str = DEFAULT_FRONT_DOOR
    # Concurrency reserved for the API function: with the function URL front door, the cap on what it may use of the
    # account's pool (requests over it are answered 429 by Lambda); none by default.
    api_reserved_concurrency: int | None = None
    # SnapStart for both functions: each deploy publishes a version, snapshotted after its init, and everything
    # (API integration or function URL, event source, schedules) invokes it through the `live` alias.
    snap_start: bool = False

    def __post_init__(self) -> None:
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(f"{CONTEXT_PREFIX}logRetentionDays must be one of {sorted(LOG_RETENTION_DAYS)}")
        if not 1 <= self.api_timeout_seconds <= API_GATEWAY_TIMEOUT_SECONDS:
            limit = API_GATEWAY_TIMEOUT_SECONDS
            raise ValueError(f"{CONTEXT_PREFIX}apiTimeoutSeconds must be 1..{limit} (the HTTP API integration limit)")
        if self.api_throttle_rate < 1 or self.api_throttle_burst < 1:
            raise ValueError(f"{CONTEXT_PREFIX}apiThrottleRate and {CONTEXT_PREFIX}apiThrottleBurst must be at least 1")
        if self.queue_age_alarm_seconds < 60:
            raise ValueError(f"{CONTEXT_PREFIX}queueAgeAlarmSeconds must be at least 60 (SQS publishes it per minute)")
        try:
            AddressPolicy.from_settings(self.destination_allow_cidrs, allow_loopback=False)
        except ValueError as exc:
            raise ValueError(f"{CONTEXT_PREFIX}destinationAllowCidrs: {exc}") from exc
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"{CONTEXT_PREFIX}architecture must be one of {', '.join(ARCHITECTURES)}")
        if self.worker_max_concurrency not in WORKER_MAX_CONCURRENCY_RANGE:
            raise ValueError(f"{CONTEXT_PREFIX}workerMaxConcurrency must be 2..1000 (what SQS event sources allow)")
        for key, reserved in [
            ("workerReservedConcurrency", self.worker_reserved_concurrency),
            ("apiReservedConcurrency", self.api_reserved_concurrency),
        ]:
            if reserved is not None and reserved < 1:
                raise ValueError(f"{CONTEXT_PREFIX}{key} must be at least 1, or empty for none")
        if self.front_door not in FRONT_DOORS:
            raise ValueError(f"{CONTEXT_PREFIX}frontDoor must be one of {', '.join(FRONT_DOORS)}")
        if self.alarm_email is not None and "@" not in self.alarm_email:
            raise ValueError(f"{CONTEXT_PREFIX}alarmEmail must be an email address, got {self.alarm_email!r}")

    @classmethod
    def from_context(cls, node: Node) -> InfraConfig:
        """The configuration from the app's context (cdk.json, overridable with `cdk -c postbox:<key>=<value>`)."""
        return cls._read(_Context(node.try_get_context))

    @classmethod
    def from_mapping(cls, context: Mapping[str, Any]) -> InfraConfig:
        """The configuration from context values keyed like cdk.json (`postbox:stackName`, ...)."""
        return cls._read(_Context(context.get))

    @classmethod
    def _read(cls, context: _Context) -> InfraConfig:
        return cls(
            stack_name=context.text("stackName"),
            lambda_asset_dir=context.path("lambdaAssetDir"),
            layer_asset_dir=context.path("layerAssetDir"),
            api_memory_mb=context.integer("apiMemoryMb"),
            api_timeout_seconds=context.integer("apiTimeoutSeconds"),
            worker_memory_mb=context.integer("workerMemoryMb"),
            log_retention_days=context.integer("logRetentionDays"),
            tracing=context.boolean("tracing"),
            api_throttle_rate=context.integer("apiThrottleRate", DEFAULT_API_THROTTLE_RATE),
            api_throttle_burst=context.integer("apiThrottleBurst", DEFAULT_API_THROTTLE_BURST),
            queue_age_alarm_seconds=context.integer("queueAgeAlarmSeconds", DEFAULT_QUEUE_AGE_ALARM_SECONDS),
            alarm_email=context.optional_text("alarmEmail"),
            architecture=context.optional_text("architecture") or DEFAULT_ARCHITECTURE,
            worker_max_concurrency=context.integer("workerMaxConcurrency", DEFAULT_WORKER_MAX_CONCURRENCY),
            worker_reserved_concurrency=context.optional_integer("workerReservedConcurrency"),
            front_door=context.optional_text("frontDoor") or DEFAULT_FRONT_DOOR,
            api_reserved_concurrency=context.optional_integer("apiReservedConcurrency"),
            snap_start=context.boolean("snapStart", default=False),
            destination_allow_cidrs=tuple(
                cidr.strip()
                for cidr in (context.optional_text("destinationAllowCidrs") or "").split(",")
                if cidr.strip()
            ),
        )

    @property
    def function_environment(self) -> dict[str, str]:
        """Settings both functions read from the context (functions.shared.config)."""
        return (
            {"DESTINATION_ALLOW_CIDRS": ",".join(self.destination_allow_cidrs)} if self.destination_allow_cidrs else {}
        )


def context_overrides(argv: Sequence[str]) -> dict[str, str]:
    """The `-c KEY=VALUE` (`--context`) pairs among command-line arguments, as the CDK CLI takes them; the other
    arguments are not ours to read."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-c", "--context", action="append", default=[])
    known, _ = parser.parse_known_args(list(argv))
    return dict(pair.partition("=")[::2] for pair in known.context)


def cdk_json_context(cdk_json: Path = PROJECT_ROOT / "cdk.json") -> dict[str, Any]:
    """The `context` of cdk.json, for runs that do not go through the CDK CLI (`python app.py`, the tests)."""
    context: dict[str, Any] = json.loads(cdk_json.read_text())["context"]
    return context


@dataclass(frozen=True)
class _Context:
    """Typed reads of `postbox:*` context values; a missing or mistyped value is an error naming its key."""

    get: Callable[[str], Any]

    def text(self, key: str) -> str:
        value = self._value(key)
        if not isinstance(value, str) or not value:
            raise ValueError(f"context value {CONTEXT_PREFIX}{key} must be a non-empty string, got {value!r}")
        return value

    def optional_text(self, key: str) -> str | None:
        """A string that may be missing or empty (None then)."""
        value = self.get(CONTEXT_PREFIX + key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ValueError(f"context value {CONTEXT_PREFIX}{key} must be a string, got {value!r}")
        return value

    def integer(self, key: str, default: int | None = None) -> int:
        if default is not None and self.get(CONTEXT_PREFIX + key) is None:
            return default
        value = self._value(key)
        if isinstance(value, str) and value.isdigit():  # `cdk -c key=value` passes strings
            return int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"context value {CONTEXT_PREFIX}{key} must be an integer, got {value!r}")
        return value

    def optional_integer(self, key: str) -> int | None:
        """An integer that may be missing or empty (None then)."""
        value = self.get(CONTEXT_PREFIX + key)
        return None if value is None or value == "" else self.integer(key)

    def boolean(self, key: str, default: bool | None = None) -> bool:
        if default is not None and self.get(CONTEXT_PREFIX + key) in (None, ""):
            return default
        value = self._value(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false"}:  # `cdk -c key=value` passes strings
            return value.lower() == "true"
        raise ValueError(f"context value {CONTEXT_PREFIX}{key} must be true or false, got {value!r}")

    def path(self, key: str) -> Path:
        return PROJECT_ROOT / self.text(key)  # an absolute path stays as it is

    def _value(self, key: str) -> Any:
        value = self.get(CONTEXT_PREFIX + key)
        if value is None:
            raise ValueError(f"missing context value {CONTEXT_PREFIX}{key} (see cdk.json)")
        return value
