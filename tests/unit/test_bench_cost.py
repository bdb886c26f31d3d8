"""The bench's cost model prices both front doors from bench/pricing.toml."""

from __future__ import annotations

from bench.run import PRICING, cost_floor, cost_per_million


def test_both_front_doors_are_priced() -> None:
    # Given a first-try message's measured counts: one API invocation of 20 ms, a tenth of a worker invocation
    load = {
        "aws_calls_per_message": {"worker sqs:ReceiveMessage": 0.1, "worker sqs:DeleteMessageBatch": 0.1},
        "sqs_chunks_per_message": {"api sqs:SendMessage": 1.0},
        "lambda_seconds_per_message": {"api": 0.02, "worker": 0.01},
        "worker_invocations_per_message": 0.1,
        "dynamodb_wru_per_message": {"messages": 3.0},
        "dynamodb_rru_per_message": {"messages": 1.0},
    }
    usd = cost_per_million(load)
    # Then the HTTP API's $1.00 per million requests is in the default total and not in the function URL's
    http_api = PRICING["api_gateway_http"]["per_million_requests"]
    assert usd["api_gateway"] == http_api == 1.00
    assert PRICING["lambda_function_url"]["per_million_requests"] == 0
    assert round(usd["total"] - usd["total_function_url"], 9) == http_api
    # And the rest is the same sum: the API function, the worker, SQS and DynamoDB
    assert usd["total_function_url"] > usd["dynamodb"] + usd["sqs"] + usd["lambda_api"] > 0
    floor = cost_floor()
    assert round(floor["total"] - floor["total_function_url"], 9) == http_api
