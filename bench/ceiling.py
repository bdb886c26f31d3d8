"""The backing-store ceiling: how fast moto alone moves messages, with no Postbox code at all.

A bare loop performs only the AWS calls one message minimally needs (a publish write, an SQS send, a receive
and a delete amortised over batches of 10, a completion write), against moto in-process (`mock_aws`, the
fastest moto backend) or a moto server. Local mode cannot beat this figure; the ratio of its throughput to it is
Postbox's own overhead. Run in a fresh interpreter (`python -m bench.ceiling [--server] N`): it prints one JSON
line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
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


def measure(messages: int, server: bool) -> float:
    import boto3
    from moto import mock_aws
    from moto.server import ThreadedMotoServer

    from functions.shared.resources import MESSAGES_TABLE

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
        dynamodb.create_table(**MESSAGES_TABLE.create_table_kwargs("ceiling"))
        queue_url = sqs.create_queue(QueueName="ceiling")["QueueUrl"]
        bare_loop(dynamodb, sqs, "ceiling", queue_url, 50, prefix="warm")  # warm the clients and moto's parsers
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
    args = parser.parse_args(argv)
    print(json.dumps({"messages_per_s": measure(args.messages, args.server), "server": args.server}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
