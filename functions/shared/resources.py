"""One definition of every table and queue, shared by the CDK stack, local mode and the tests.

Plain data: no CDK and no boto3 here, so the Lambda functions can import it at no cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

AttrType = Literal["S", "N", "B"]
Projection = Literal["ALL", "KEYS_ONLY"]


@dataclass(frozen=True)
class Key:
    name: str
    type: AttrType = "S"


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: Key
    sort_key: Key | None = None
    # KEYS_ONLY: an update that changes neither the index's keys nor the table's is no write to the index.
    projection: Projection = "ALL"


@dataclass(frozen=True)
class TableDef:
    logical_id: str
    env_var: str
    partition_key: Key
    sort_key: Key | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None

    def create_table_kwargs(self, table_name: str) -> dict[str, Any]:
        """Arguments for `dynamodb.create_table` (local mode, tests) matching what the CDK stack deploys."""
        keys = [self.partition_key, *([self.sort_key] if self.sort_key else [])]
        for index in self.indexes:
            keys += [index.partition_key, *([index.sort_key] if index.sort_key else [])]
        attributes = {key.name: key.type for key in keys}
        kwargs: dict[str, Any] = {
            "TableName": table_name,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": _key_schema(self.partition_key, self.sort_key),
            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in attributes.items()],
        }
        if self.indexes:
            kwargs["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index.name,
                    "KeySchema": _key_schema(index.partition_key, index.sort_key),
                    "Projection": {"ProjectionType": index.projection},
                }
                for index in self.indexes
            ]
        return kwargs


def _key_schema(partition_key: Key, sort_key: Key | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition_key.name, "KeyType": "HASH"}]
    if sort_key:
        schema.append({"AttributeName": sort_key.name, "KeyType": "RANGE"})
    return schema


@dataclass(frozen=True)
class QueueDef:
    logical_id: str
    env_var: str
    visibility_timeout_seconds: int
    max_receive_count: int
    redrive_logical_id: str
    retention_seconds: int = 14 * 86400


@dataclass(frozen=True)
class BucketDef:
    logical_id: str
    env_var: str
    expiration_days: int


@dataclass(frozen=True)
class ScheduleGroupDef:
    """EventBridge Scheduler group of the one-time schedules that hold long waits, and the role they run as."""

    logical_id: str
    env_var: str
    role_logical_id: str
    role_env_var: str


# Listings by time (messages and their log, DLQ entries, messages not finished) are spread over this many partition
# key values, `<name>#<n>` with n computed from the record's id (functions/shared/shards.py), so that no key value
# takes more than about 1/WRITE_SHARDS of the writes.
WRITE_SHARDS = 64

# Messages: per message a `request` item (pk = message id, sk `request`: url, headers, body; written once) and a small
# `state` item (pk `state#<shard>`, sk = message id: the state, the attributes filters read, and the message's event
# log as a list, appended to by the same conditional update that changes the state). The state items of a shard are
# its messages in creation order (ids are UUIDv7): the table's own key lists messages and their logs by time.
# Also: dedup keys (pk `dedup#<id>`), and `late#<shard>` markers for log entries made long after their message was
# created (functions/stores/message_items.py). `pending` (sparse: messages not finished; sharded) and `byDedupId`
# project keys only: an update that does not change their key does not write them. `byDedupId` and `queueWaiting` hold
# only messages published with a dedup id or into a FIFO queue.
MESSAGES_TABLE = TableDef(
    logical_id="MessagesTable",
    env_var="MESSAGES_TABLE",
    partition_key=Key("pk"),
    sort_key=Key("sk"),
    indexes=(
        Index("pending", partition_key=Key("pendingKey"), sort_key=Key("sk"), projection="KEYS_ONLY"),
        # Lookup by the dedup / idempotency key a client published with: newest message first.
        Index("byDedupId", partition_key=Key("dedupId"), sort_key=Key("sk"), projection="KEYS_ONLY"),
        # Sparse: messages waiting in a FIFO queue for a delivery slot, oldest first (ids are UUIDv7).
        # (ALL: its entries are written when a queued message is created and removed when it is dispatched, nothing
        # else writes them; dispatching reads their visibility)
        Index("queueWaiting", partition_key=Key("queueWaiting"), sort_key=Key("sk")),
    ),
    ttl_attribute="expiresAt",
)

# DLQ entries, one item each, under `dlq#<shard>` of their dlqId: each shard lists its entries by dlqId (UUIDv7).
DLQ_TABLE = TableDef(
    logical_id="DlqTable",
    env_var="DLQ_TABLE",
    partition_key=Key("shard"),
    sort_key=Key("dlqId"),
    ttl_attribute="expiresAt",
)

# Fixed-window counters shared by every Lambda instance (API rate limiting).
COUNTERS_TABLE = TableDef(
    logical_id="CountersTable",
    env_var="COUNTERS_TABLE",
    partition_key=Key("pk"),
    ttl_attribute="expiresAt",
)

# URL groups (QStash "topics"): one item per group with its endpoints; `all` lists them by name.
TOPICS_TABLE = TableDef(
    logical_id="TopicsTable",
    env_var="TOPICS_TABLE",
    partition_key=Key("name"),
    indexes=(Index("all", partition_key=Key("listing"), sort_key=Key("name")),),
)

# FIFO queues: one item per queue with its parallelism, pause flag and the count of messages in flight.
QUEUES_TABLE = TableDef(
    logical_id="QueuesTable",
    env_var="QUEUES_TABLE",
    partition_key=Key("name"),
    indexes=(Index("all", partition_key=Key("listing"), sort_key=Key("name")),),
)

# Cron schedules: one item per schedule (what it publishes, its cron, its last firing); `all` lists them.
SCHEDULES_TABLE = TableDef(
    logical_id="SchedulesTable",
    env_var="SCHEDULES_TABLE",
    partition_key=Key("scheduleId"),
    indexes=(Index("all", partition_key=Key("listing"), sort_key=Key("scheduleId")),),
)

TABLES = (MESSAGES_TABLE, DLQ_TABLE, COUNTERS_TABLE, TOPICS_TABLE, QUEUES_TABLE, SCHEDULES_TABLE)

# The worker's visibility timeout must exceed its Lambda timeout (AWS requires >= and recommends 6x for
# batching windows); records the worker cannot even parse land in the redrive queue after max_receive_count.
DELIVERY_QUEUE = QueueDef(
    logical_id="DeliveryQueue",
    env_var="DELIVERY_QUEUE_URL",
    visibility_timeout_seconds=900,
    max_receive_count=5,
    redrive_logical_id="DeliveryRedriveQueue",
)

# Bodies too large for a DynamoDB item (claim check). Objects outlive the longest message: a year of delay,
# a day per retry, then retention.
BODIES_BUCKET = BucketDef(logical_id="BodiesBucket", env_var="BODIES_BUCKET", expiration_days=400)

DELAY_SCHEDULES = ScheduleGroupDef(
    logical_id="DelaySchedules",
    env_var="SCHEDULE_GROUP",
    role_logical_id="SchedulerRole",
    role_env_var="SCHEDULER_ROLE_ARN",
)

# Records per worker invocation (the SQS event source's batch size; local mode receives as many). The worker
# delivers them all at once, one thread each.
DELIVERY_BATCH_SIZE = 10

# The worker delivers a batch concurrently, so its timeout bounds the slowest attempt (MAX_ATTEMPT_TIMEOUT)
# plus bookkeeping; the queue's visibility timeout exceeds it.
MAX_ATTEMPT_TIMEOUT_SECONDS = 120
WORKER_TIMEOUT_SECONDS = 150
MAX_SQS_DELAY_SECONDS = 900
