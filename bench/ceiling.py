"""The backing-store ceiling: how fast moto alone moves messages, with no Postbox code at all.

A bare loop performs only the AWS calls one message minimally needs (a publish write, an SQS send, a receive
and a delete amortised over batches of 10, a completion write), against moto in-process (`mock_aws`, the
fastest moto backend) or a moto server. Local mode cannot beat this figure; the ratio of its throughput to it is
Postbox's own overhead.

`--calls postbox` runs the same loop with the calls Postbox itself makes for a first-try message, with items of
the same shape in the real table layout, and still no Postbox code: the request item, then the state item with its
CREATED log entry, an SQS send, a rate-limit lease write per 20 publishes; then per record a batch read of both items
and two conditional updates of the state item (the claim and the completion, each appending its log entry). It splits
the gap between local mode and the minimal loop into what the data layout costs on moto and what Postbox's code
costs.

Run in a fresh interpreter (`python -m bench.ceiling [--server] [--calls postbox] N`): it prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import zlib
from typing import Any

BATCH = 10


def bare_loop(dynamodb: Any, sqs: Any, table: str, queue_url: str, messages: int, prefix: str = "m") -> float:
    """Messages per second through put → send → receive(10) → delete batch → conditional update."""
    body = "x" * 1024
    started = time.perf_counter()
    for first in range(0, messages, BATCH):
        ids = [f"{prefix}{n:08d}" for n in range(first, min(first + BATCH, messages))]
        for message_id in ids:
            dynamodb.put_item(
                TableName=table,
                Item={"pk": {"S": message_id}, "sk": {"S": "state"}, "status": {"S": "CREATED"}, "body": {"S": body}},
                ConditionExpression="attribute_not_exists(pk)",
            )
            sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"messageId": message_id}))
        received: list[dict[str, Any]] = []
        while len(received) < len(ids):
            received += sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=BATCH).get("Messages", [])
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)],
        )
        for record in received:
            dynamodb.update_item(
                TableName=table,
                Key={"pk": {"S": json.loads(record["Body"])["messageId"]}, "sk": {"S": "state"}},
                UpdateExpression="SET #s = :delivered",
                ConditionExpression="#s = :created",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":delivered": {"S": "DELIVERED"}, ":created": {"S": "CREATED"}},
            )
    return messages / (time.perf_counter() - started)


def postbox_loop(dynamodb: Any, sqs: Any, tables: dict[str, str], queue_url: str, messages: int, prefix: str) -> float:
    """Messages per second through Postbox's own calls for a first-try message (see the module docstring)."""
    messages_table, counters_table = tables["messages"], tables["counters"]
    body = "x" * 1024
    header = {"M": {"Content-Type": {"L": [{"S": "application/json"}]}}}

    def state_key(message_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"state#{zlib.crc32(message_id.encode()) % 32}"}, "sk": {"S": message_id}}

    def entry(message_id: str, n: int, state: str) -> dict[str, Any]:
        return {"L": [{"M": {"eventId": {"S": f"{message_id}-{n}"}, "state": {"S": state}}}]}

    def move(message_id: str, n: int, before: str, after: str, remove: str = "") -> None:
        dynamodb.update_item(
            TableName=messages_table,
            Key=state_key(message_id),
            UpdateExpression="SET #log = list_append(#log, :entry), #s = :after, attempt = :n"
            + (f" REMOVE {remove}" if remove else ""),
            ConditionExpression="#s = :before",
            ExpressionAttributeNames={"#s": "state", "#log": "log"},
            ExpressionAttributeValues={
                ":after": {"S": after},
                ":before": {"S": before},
                ":n": {"N": str(n)},
                ":entry": entry(message_id, n, after),
            },
        )

    started = time.perf_counter()
    for first in range(0, messages, BATCH):
        ids = [f"{prefix}{n:08d}" for n in range(first, min(first + BATCH, messages))]
        for message_id in ids:
            if int(message_id[len(prefix) :]) % 20 == 0:  # the rate limiter's lease of 20 requests
                dynamodb.update_item(
                    TableName=counters_table,
                    Key={"pk": {"S": f"ratelimit#token#{message_id}"}},
                    UpdateExpression="ADD #c :n",
                    ConditionExpression="attribute_not_exists(#c) OR #c <= :room",
                    ExpressionAttributeNames={"#c": "count"},
                    ExpressionAttributeValues={":n": {"N": "20"}, ":room": {"N": "5980"}},
                )
            dynamodb.put_item(
                TableName=messages_table,
                Item={
                    "pk": {"S": message_id},
                    "sk": {"S": "request"},
                    "url": {"S": "http://127.0.0.1:9/hook"},
                    "method": {"S": "POST"},
                    "header": header,
                    "body": {"B": body.encode()},
                    "maxRetries": {"N": "3"},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
            dynamodb.put_item(
                TableName=messages_table,
                Item={
                    **state_key(message_id),
                    "state": {"S": "CREATED"},
                    "pendingKey": {"S": f"pending#{zlib.crc32(message_id.encode()) % 32}"},
                    "attempt": {"N": "0"},
                    "url": {"S": "http://127.0.0.1:9/hook"},
                    "log": entry(message_id, 0, "CREATED"),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
            sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"messageId": message_id}))
        received: list[dict[str, Any]] = []
        while len(received) < len(ids):
            received += sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=BATCH).get("Messages", [])
        for record in received:
            message_id = json.loads(record["Body"])["messageId"]
            keys = [state_key(message_id), {"pk": {"S": message_id}, "sk": {"S": "request"}}]
            dynamodb.batch_get_item(RequestItems={messages_table: {"Keys": keys, "ConsistentRead": True}})
            move(message_id, 1, "CREATED", "ACTIVE")
            move(message_id, 2, "ACTIVE", "DELIVERED", remove="pendingKey")
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)],
        )
    return messages / (time.perf_counter() - started)


def measure(messages: int, server: bool, calls: str = "minimal") -> float:
    import boto3
    from moto import mock_aws
    from moto.server import ThreadedMotoServer

    from functions.shared.resources import COUNTERS_TABLE, MESSAGES_TABLE
    from local_mode import moto_patches

    moto_patches.install()  # local mode's backend: moto with item-level transaction backups and partition queries

    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    moto_server = None
    endpoint = None
    mock = None
    if server:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per call
        moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto_server.start()
        host, port = moto_server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
    else:
        mock = mock_aws()
        mock.start()
    try:
        dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint)
        sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=endpoint)
        tables = {"messages": "ceiling", "counters": "ceiling-counters"}
        for table, name in ((MESSAGES_TABLE, "messages"), (COUNTERS_TABLE, "counters")):
            dynamodb.create_table(**table.create_table_kwargs(tables[name]))
        queue_url = sqs.create_queue(QueueName="ceiling")["QueueUrl"]
        if calls == "postbox":
            postbox_loop(dynamodb, sqs, tables, queue_url, 50, prefix="warm")  # warm the clients and moto's parsers
            return postbox_loop(dynamodb, sqs, tables, queue_url, messages, prefix="m")
        bare_loop(dynamodb, sqs, "ceiling", queue_url, 50, prefix="warm")
        return bare_loop(dynamodb, sqs, "ceiling", queue_url, messages)
    finally:
        if mock:
            mock.stop()
        if moto_server:
            moto_server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.ceiling", description=__doc__.splitlines()[0])
    parser.add_argument("messages", type=int, nargs="?", default=1000)
    parser.add_argument("--server", action="store_true", help="through a moto server instead of in-process")
    parser.add_argument("--calls", choices=("minimal", "postbox"), default="minimal", help="which calls per message")
    args = parser.parse_args(argv)
    rate = measure(args.messages, args.server, args.calls)
    print(json.dumps({"messages_per_s": rate, "server": args.server, "calls": args.calls}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
