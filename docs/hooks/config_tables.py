"""Configuration tables: the functions' environment (`Settings`) and the CDK context keys (`cdk.json`).

The variables, keys and defaults come from the code; the meanings are written here, one per variable or key, and
the build fails when a variable or key has none, or a meaning names one the code no longer has.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from docs.hooks.settings import default_settings, placeholder_env
from functions.shared.config import Settings
from infra.config import CONTEXT_PREFIX, InfraConfig

ROOT = Path(__file__).resolve().parents[2]

ENVIRONMENT = {
    "MESSAGES_TABLE": "the messages table (request and state items)",
    "DLQ_TABLE": "the DLQ table",
    "COUNTERS_TABLE": "rate-limit and flow-control counters",
    "TOPICS_TABLE": "URL groups",
    "QUEUES_TABLE": "FIFO queues",
    "SCHEDULES_TABLE": "cron schedules",
    "DELIVERY_QUEUE_URL": "the SQS delivery queue",
    "BODIES_BUCKET": "the S3 bucket of bodies over `INLINE_BODY_BYTES` (claim check)",
    "SCHEDULE_GROUP": "the EventBridge Scheduler group of delay and cron schedules",
    "SCHEDULER_ROLE_ARN": "the role EventBridge Scheduler sends with",
    "WORKER_FUNCTION_ARN": "the target of cron schedules (set on the API)",
    "AUTH_SECRET_ID": 'secret holding the API tokens: `{"token", "tokens", "readOnlyToken", "readOnlyTokens"}`, '
    "all optional (see [Using the API](api.md#tokens))",
    "SIGNING_KEYS_SECRET_ID": 'secret holding the signing keys `{"current", "next"}`',
    "DEFAULT_RETRIES": "`Upstash-Retries` when the message sets none",
    "MAX_RETRIES": "upper bound of `Upstash-Retries`",
    "ATTEMPT_TIMEOUT_SECONDS": "per-attempt HTTP timeout when the message sets none",
    "MAX_ATTEMPT_TIMEOUT_SECONDS": "upper bound of `Upstash-Timeout`",
    "CLAIM_MARGIN_SECONDS": "a claim's lease is the longest attempt timeout plus this margin",
    "MAX_BODY_BYTES": "larger bodies are refused with 413",
    "INLINE_BODY_BYTES": "larger bodies go to S3 (cheaper there than in DynamoDB above this size)",
    "DEDUP_WINDOW_SECONDS": "how long a deduplication id is remembered",
    "MESSAGE_RETENTION_SECONDS": "TTL of finished messages",
    "DLQ_RETENTION_SECONDS": "TTL of DLQ entries",
    "LOG_RETENTION_SECONDS": "how long event-log entries are kept",
    "DELIVERED_GRACE_SECONDS": "how long `GET /v2/messages/{id}` still shows a finished message",
    "PROJECT_ID": "`project_id` of `/v1` answers",
    "RATE_LIMIT_REQUESTS": "API requests per caller per window (0 disables)",
    "RATE_LIMIT_WINDOW_SECONDS": "the rate limit's window",
    "SECRET_CACHE_SECONDS": "how long secrets are cached per process",
    "MAX_QUEUE_PARALLELISM": "upper bound of a queue's parallelism",
    "ALLOW_LOOPBACK_DESTINATIONS": "let deliveries reach loopback addresses",
    "DESTINATIONS_LOOPBACK_ONLY": "deliver only to loopback addresses and resolve no other name",
    "DESTINATION_ALLOW_CIDRS": "comma-separated CIDRs the SSRF guard lets deliveries and callbacks reach "
    "(e.g. `10.1.0.0/16`)",
    "SWEEP_GRACE_SECONDS": "overdue by this much, a message's queue record counts as lost and is sent again",
}

CONTEXT = {
    "stackName": "the CloudFormation stack's name",
    "lambdaAssetDir": "the staged `functions/` package (`make build`)",
    "layerAssetDir": "the dependency layer (`make build`)",
    "apiMemoryMb": "the API function's memory",
    "apiTimeoutSeconds": "the API function's timeout (1–30, the HTTP API integration's limit)",
    "workerMemoryMb": "the worker function's memory",
    "logRetentionDays": "retention of the functions' and the access log's log groups (a value CloudWatch Logs takes)",
    "tracing": "active X-Ray tracing of both functions",
    "apiThrottleRate": "the HTTP API stage's steady rate, requests per second (429 over it)",
    "apiThrottleBurst": "the HTTP API stage's burst",
    "queueAgeAlarmSeconds": "age of the delivery queue's oldest record that sets off its alarm (at least 60)",
    "alarmEmail": "an address subscribed to the alarm topic (its owner confirms by email); empty: none",
    "destinationAllowCidrs": "`DESTINATION_ALLOW_CIDRS` of both functions",
    "workerMaxConcurrency": "worker invocations the delivery queue's event source runs at once (2–1000)",
    "workerReservedConcurrency": "concurrency reserved for the worker; empty: none",
    "architecture": "`arm64` or `x86_64`",
    "frontDoor": "`httpApi` (API Gateway HTTP API) or `functionUrl` (the API function's URL)",
    "apiReservedConcurrency": "concurrency reserved for the API function; empty: none",
    "snapStart": "Lambda SnapStart for both functions (through the `live` alias)",
}


def environment_table() -> str:
    """Every variable the functions read: its code default, local mode's value where it differs, its meaning."""
    from local_mode.backend import function_env

    aliases = [str(field.alias) for field in Settings.model_fields.values()]
    _check("Settings", aliases, ENVIRONMENT)
    required = set(placeholder_env())
    deployed = default_settings()
    local = Settings.model_validate({**placeholder_env(), **function_env(None)})
    lines = ["| variable | default | local mode | meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        alias = str(field.alias)
        if alias in required:
            default = local_value = "set by the stack"
        else:
            default = _shown(alias, getattr(deployed, name))
            local_value = _shown(alias, getattr(local, name))
            local_value = local_value if local_value != default else ""
        lines.append(f"| `{alias}` | {default} | {local_value} | {ENVIRONMENT[alias]} |")
    return "\n".join(lines)


def context_table() -> str:
    """Every `postbox:*` context key: its value in cdk.json, and its meaning."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    keys = [key.removeprefix(CONTEXT_PREFIX) for key in context if key.startswith(CONTEXT_PREFIX)]
    _check("cdk.json", keys, CONTEXT)
    read = {_camel(field.name) for field in fields(InfraConfig)}
    if set(keys) != read:
        raise ValueError(f"cdk.json context keys and InfraConfig fields differ: {sorted(set(keys) ^ read)}")
    lines = ["| key | cdk.json | meaning |", "|---|---|---|"]
    for key in keys:
        value = context[CONTEXT_PREFIX + key]
        shown = "empty" if value == "" else f"`{json.dumps(value)}`"
        lines.append(f"| `{CONTEXT_PREFIX}{key}` | {shown} | {CONTEXT[key]} |")
    return "\n".join(lines)


def _check(source: str, names: list[str], meanings: dict[str, str]) -> None:
    missing, stale = set(names) - set(meanings), set(meanings) - set(names)
    if missing or stale:
        raise ValueError(f"{source}: no meaning for {sorted(missing)}; meanings of unknown names {sorted(stale)}")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _shown(alias: str, value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(value) or "none"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and alias.endswith("_SECONDS") and value >= 86400 and value % 86400 == 0:
        return f"{value} ({value // 86400} d)"
    if isinstance(value, int) and alias.endswith("_BYTES") and value >= 1024 and value % 1024 == 0:
        kib = value // 1024
        return f"{value} ({kib // 1024} MB)" if kib % 1024 == 0 else f"{value} ({kib} KB)"
    if value == "":
        return "empty"
    return f"`{value}`" if isinstance(value, str) else str(value)
