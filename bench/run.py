"""`make bench` / `make bench-quick`: Postbox's figures, measured on this machine in local mode.

Prints a table and writes bench/results/<date>-<git sha>.json. Figures are reported, never asserted.
Everything runs on 127.0.0.1: local mode (moto server, front door, worker loop) in this process; the receiver
and the publishing clients in processes of their own (`bench.drive`), so that their work is not counted as
Postbox's; fresh interpreters for the cold-start and memory figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench.awscount import AwsCounter
from bench.drive import ARRIVALS_PATH, COUNT_PATH

ROOT = Path(__file__).resolve().parents[1]
PRICING = tomllib.loads((ROOT / "bench" / "pricing.toml").read_text())
_CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]
MEMORY_MB = {"api": _CONTEXT["postbox:apiMemoryMb"], "worker": _CONTEXT["postbox:workerMemoryMb"]}
"""The memory each function is deployed with (cdk.json): Lambda bills GB-seconds at the configured size."""
PER_GB_SECOND = PRICING["lambda"]["per_gb_second"][_CONTEXT.get("postbox:architecture", "arm64")]
"""Lambda's price of a GB-second on the functions' architecture (cdk.json's postbox:architecture)."""
HANDLERS = ("functions.api.handler", "functions.worker.handler")
FRONT_DOOR_PER_MILLION = {
    "httpApi": PRICING["api_gateway_http"]["per_million_requests"],
    "functionUrl": PRICING["lambda_function_url"]["per_million_requests"],
}
"""What each front door (postbox:frontDoor) adds per million API requests, beside the API function's own price."""


# --- the receiver and the clients (bench.drive), each in a process of its own ----------------------------


class ReceiverProcess:
    """`bench.drive`'s receiver in a fresh interpreter: answers 200 (or 500 on a first attempt, for `error_share`
    of the messages) after `latency_s`."""

    def __init__(self, error_share: float, latency_s: float) -> None:
        command = [sys.executable, "-m", "bench.drive", "receiver", "--error-share", str(error_share)]
        command += ["--latency-ms", str(latency_s * 1000)]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self._process.stdout is not None
        self.url = self._process.stdout.readline().strip()
        if not self.url:
            self.close()
            raise RuntimeError("the benchmark's receiver did not start")
        self._session = requests.Session()

    def arrived(self) -> int:
        """How many messages have arrived so far."""
        return int(self._session.get(self.url.rsplit("/", 1)[0] + COUNT_PATH, timeout=10).text)

    def arrivals(self) -> dict[str, float]:
        """When each message first arrived (`time.monotonic()`), by message id."""
        return dict(self._session.get(self.url.rsplit("/", 1)[0] + ARRIVALS_PATH, timeout=30).json())

    def close(self) -> None:
        self._process.stdin.close()  # type: ignore[union-attr]
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> ReceiverProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def publish_from_clients(local: Any, destination: str, **options: Any) -> dict[str, Any]:
    """Run `bench.drive`'s publishing clients in a fresh interpreter against local mode's front door."""
    command = [sys.executable, "-m", "bench.drive", "publish", local.url, local.token, destination]
    for name, value in options.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# --- throughput and latency -------------------------------------------------------------------------


def path_of_thread(name: str) -> str:
    if name.startswith(("worker-loop", "worker-invoke", "asyncio", "delivery")):
        return "worker"
    if name.startswith(("scheduler-loop", "shard-read")):
        return "scheduler"  # (shard reads: the listings of the load's messages are the sweep's)
    if name == "MainThread":
        return "bench"  # the benchmark's own reads (waiting for the backlog to drain): not Postbox's cost
    return "publish"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run_load(
    local: Any,
    counter: AwsCounter,
    timer: HandlerTimer,
    *,
    messages: int,
    concurrency: int,
    body_bytes: int,
    error_share: float,
    latency_s: float,
    retry_delay_ms: int,
    rate_per_s: float = 0.0,
) -> dict[str, Any]:
    """Publish `messages` through the front door from `concurrency` clients (paced at `rate_per_s` when given),
    wait until every one is received and marked delivered, and report the figures of that run."""
    from functions.composition.stores import Stores
    from functions.core.lifecycle import MessageState
    from functions.shared.config import get_settings
    from functions.stores.message_items import state_key

    store = Stores(get_settings()).messages.store
    with ReceiverProcess(error_share, latency_s) as receiver:
        for counts in (counter.calls, counter.wru, counter.rru, counter.sqs_chunks, counter.by_key):
            counts.clear()
        timer.reset()
        clients = publish_from_clients(
            local,
            receiver.url,
            messages=messages,
            concurrency=concurrency,
            body_bytes=body_bytes,
            retry_delay_ms=retry_delay_ms,
            rate=rate_per_s,
        )
        while receiver.arrived() < messages:
            time.sleep(0.05)
        unfinished = set(clients["answered"])  # delivered means marked DELIVERED too, not only received
        while unfinished:
            # 100 states in one batch read: a read per message would hold the backend for as long again as some
            # of the work measured (moto answers one read at a time, under local mode's lock)
            checked = sorted(unfinished)[:100]
            states = store.batch_get([state_key(i) for i in checked], projection="sk, #s", names={"#s": "state"})
            unfinished -= {str(item["sk"]) for item in states if MessageState(item["state"]).is_final}
            if unfinished:
                time.sleep(0.1)
        elapsed = time.monotonic() - clients["first"]
        arrivals = receiver.arrivals()
    published, latencies = clients["answered"], clients["latencies"]
    lags = [arrivals[i] - published[i] for i in published if i in arrivals]
    return {
        "messages": messages,
        "concurrency": concurrency,
        "rate_per_s": rate_per_s or None,
        "body_bytes": body_bytes,
        "error_share": error_share,
        "throughput_per_s": messages / elapsed,
        "elapsed_s": elapsed,
        "publish_latency_ms": {p: percentile(latencies, p) * 1000 for p in (50, 90, 99)},
        "delivery_lag_ms": {p: percentile(lags, p) * 1000 for p in (50, 90, 99)},
        "aws_calls_per_message": {
            f"{path} {service}:{operation}": count / messages
            for (path, service, operation), count in sorted(counter.calls.items())
            if path != "bench"
        },
        "dynamodb_wru_per_message": {p: units / messages for p, units in counter.wru.items() if p != "bench"},
        "dynamodb_rru_per_message": {p: units / messages for p, units in counter.rru.items() if p != "bench"},
        "sqs_chunks_per_message": {path: units / messages for path, units in counter.sqs_chunks.items()},
        "lambda_seconds_per_message": {"api": timer.api_s / messages, "worker": timer.worker_s / messages},
        "worker_invocations_per_message": timer.batches / messages,
        "hottest_partition_key": dict(zip(("table", "key", "share"), counter.hottest_key_share(), strict=True)),
    }


class HandlerTimer:
    """Wraps the handlers local mode calls once, adding up their time (Lambda duration) and worker batches."""

    def __init__(self, local: Any) -> None:
        self.api_s = self.worker_s = 0.0
        self.batches = 0
        door, loop = local.front_door, local.worker
        api, worker = door.handler, loop.handler

        def timed_api(event: dict[str, Any], context: Any) -> Any:
            started = time.perf_counter()
            try:
                return api(event, context)
            finally:
                self.api_s += time.perf_counter() - started

        def timed_worker(event: dict[str, Any], context: Any) -> Any:
            started = time.perf_counter()
            try:
                return worker(event, context)
            finally:
                self.worker_s += time.perf_counter() - started
                self.batches += 1

        door.handler, loop.handler = timed_api, timed_worker

    def reset(self) -> None:
        self.api_s = self.worker_s = 0.0
        self.batches = 0


# --- cost -------------------------------------------------------------------------------------------


def cost_per_million(load: dict[str, Any]) -> dict[str, float]:
    """Dollars per 1M delivered messages, from the measured counts and bench/pricing.toml: `total` behind the HTTP API
    front door (the default), `total_function_url` behind the function URL one; one publish request per message."""
    calls = load["aws_calls_per_message"]
    sqs_requests = sum(
        v for k, v in calls.items() if ":" in k and k.split()[1].startswith("sqs:") and "SendMessage" not in k
    )
    sqs_requests += sum(load["sqs_chunks_per_message"].values())
    seconds = load["lambda_seconds_per_message"]
    scheduler = sum(v for k, v in calls.items() if "scheduler:CreateSchedule" in k)
    s3_puts = sum(v for k, v in calls.items() if "s3:PutObject" in k)
    s3_gets = sum(v for k, v in calls.items() if "s3:GetObject" in k)
    million = 1_000_000
    parts = {
        "api_gateway": FRONT_DOOR_PER_MILLION["httpApi"],
        "lambda_api": PRICING["lambda"]["per_million_requests"]
        + million * seconds["api"] * MEMORY_MB["api"] / 1024 * PER_GB_SECOND,
        "lambda_worker": load["worker_invocations_per_message"] * PRICING["lambda"]["per_million_requests"]
        + million * seconds["worker"] * MEMORY_MB["worker"] / 1024 * PER_GB_SECOND,
        "sqs": sqs_requests * PRICING["sqs"]["per_million_requests"],
        "dynamodb": sum(load["dynamodb_wru_per_message"].values()) * PRICING["dynamodb"]["per_million_wru"]
        + sum(load["dynamodb_rru_per_message"].values()) * PRICING["dynamodb"]["per_million_rru"],
        "scheduler": scheduler * PRICING["scheduler"]["per_million_invocations"],
        "s3": million
        * (s3_puts * PRICING["s3"]["per_thousand_put"] + s3_gets * PRICING["s3"]["per_thousand_get"])
        / 1000,
        # Secrets Manager is left out: each instance reads a secret once per SECRET_CACHE_SECONDS (300 s deployed,
        # 5 s in local mode, so counts here overstate it 60x): deployed, cents a month, nothing per message.
    }
    parts["total"] = sum(parts.values())
    parts["total_function_url"] = parts["total"] - parts["api_gateway"] + FRONT_DOOR_PER_MILLION["functionUrl"]
    parts["qstash_payg"] = 10 * PRICING["qstash"]["per_hundred_thousand_messages"]
    return parts


def cost_floor() -> dict[str, float]:
    """Dollars per 1M first-try 1 KB deliveries that no design on the fixed shape (API Gateway HTTP API or a function
    URL, Lambda, SQS, DynamoDB on demand) can go below, whatever its code: one API request and invocation per
    publish; one SQS send, with the receive, the delete and the worker invocation shared by a batch of 10; the message
    written once (a 1 KB body with its id and URL is over 1 KB: 2 write units) and one write recording the delivery
    (1 unit).
    Lambda durations count as zero."""
    parts = {
        "api_gateway": FRONT_DOOR_PER_MILLION["httpApi"],
        "lambda": PRICING["lambda"]["per_million_requests"] * (1 + 1 / 10),
        "sqs": PRICING["sqs"]["per_million_requests"] * (1 + 2 / 10),
        "dynamodb": PRICING["dynamodb"]["per_million_wru"] * (2 + 1),
    }
    parts["total"] = sum(parts.values())
    parts["total_function_url"] = parts["total"] - parts["api_gateway"] + FRONT_DOOR_PER_MILLION["functionUrl"]
    return parts


# --- cold start and memory (fresh interpreters) -----------------------------------------------------


def import_seconds(module: str, env: dict[str, str], cwd: Path = ROOT) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=cwd)
    return float(out.stdout.strip().splitlines()[-1])


# What every handler must import before any Postbox module: boto3, pydantic and the Powertools parts the project
# standards require (Logger, Metrics, the HTTP resolver with OpenAPI validation, the SQS batch processor).
REQUIRED_STACK = (
    "boto3, pydantic, aws_lambda_powertools.event_handler.middlewares.openapi_validation; "
    "from aws_lambda_powertools import Logger, Metrics; "
    "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver; "
    "from aws_lambda_powertools.utilities.batch import BatchProcessor"
)


def staged_code(dest: Path) -> Path:
    """The functions' code as `make build` stages it for Lambda (no local mode), with its bytecode compiled by this
    interpreter: what a cold start imports. (The working tree has no bytecode: the Makefile sets
    PYTHONDONTWRITEBYTECODE, so importing from it would compile every module at each import, which Lambda does
    not; the packages imported from site-packages have theirs.)"""
    from infra.build import stage_code

    stage_code(dest)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(dest / "functions")], check=True)
    return dest


def cold_start(runs: int, env: dict[str, str]) -> dict[str, Any]:
    """Median import times in fresh interpreters, measured in turns (boto3, the required stack, each handler; then
    again) so that the machine's drift over the run weighs on each figure alike."""
    with tempfile.TemporaryDirectory(prefix="postbox-staged-") as directory:
        staged = staged_code(Path(directory))
        staged_env = {**env, "PYTHONPATH": str(staged)}
        subjects = {
            "boto3": ("boto3", env, ROOT),
            "stack": (REQUIRED_STACK, env, ROOT),
            **{module: (module, staged_env, staged) for module in HANDLERS},
        }
        times: dict[str, list[float]] = {name: [] for name in subjects}
        for _ in range(runs):
            for name, (module, subject_env, cwd) in subjects.items():
                times[name].append(import_seconds(module, subject_env, cwd))
    median = {name: statistics.median(values) for name, values in times.items()}
    baseline = median["boto3"]
    figures: dict[str, Any] = {
        "boto3_s": baseline,
        "required_stack_s": median["stack"],
        "required_stack_ratio": median["stack"] / baseline,
    }
    for module in HANDLERS:
        figures[module] = {"seconds": median[module], "ratio_to_boto3": median[module] / baseline}
    return figures


# VmHWM, not getrusage: Linux carries a parent's peak RSS over fork + exec into the child's ru_maxrss, so a probe
# started from this (large) process would report this process's peak.
MEMORY_PROBE = """
import sys
from functions.api.handler import lambda_handler
from local_mode.frontdoor import build_event
from local_mode.lambda_context import LocalLambdaContext
token, destination, events = sys.argv[1], sys.argv[2], int(sys.argv[3])
auth = [("Authorization", "Bearer " + token)]
message_id = "none"
for i in range(events):
    if i % 2:
        event = build_event("GET", "/v2/messages/" + message_id, auth, b"", "127.0.0.1")
    else:
        event = build_event("POST", "/v2/publish/" + destination, auth, b"x" * 1024, "127.0.0.1")
    answer = lambda_handler(event, LocalLambdaContext("postbox-api"))
    assert answer["statusCode"] in (200, 201, 404), answer
    if not i % 2:
        message_id = __import__("json").loads(answer["body"])["messageId"]
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def peak_rss_mb(local: Any, events: int, env: dict[str, str]) -> float:
    """Peak RSS of a fresh process that imports the API handler and serves `events` events (half publishes, half
    lookups) against local mode's moto server: the handler's footprint, as a Lambda environment has it."""
    with ReceiverProcess(0.0, 0.0) as receiver:
        out = subprocess.run(
            [sys.executable, "-c", MEMORY_PROBE, local.token, receiver.url, str(events)],
            env={**local.process_env(), **{k: v for k, v in env.items() if k.startswith(("POWERTOOLS", "PYTHON"))}},
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def backing_store_ceiling(messages: int, server: bool, env: dict[str, str], calls: str = "minimal") -> float:
    """Messages per second of the bare loop of `bench.ceiling` (moto alone), in a fresh interpreter."""
    command = [sys.executable, "-m", "bench.ceiling", str(messages), "--calls", calls, *(["--server"] * server)]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["messages_per_s"])


# --- one worker batch against a slow destination -----------------------------------------------------------


def batch_concurrency(records: int = 10, sleep_s: float = 0.2, runs: int = 5) -> dict[str, Any]:
    """Worker invocations, each with a batch of `records` to a receiver that sleeps `sleep_s` (the median of
    `runs`): concurrent delivery takes about the slowest attempt, a sequential worker would take the sum."""
    from functions.shared import aws
    from local_mode.runtime import LocalMode, make_worker_loop

    durations, batches = [], []
    with ReceiverProcess(0.0, sleep_s) as receiver:
        local = LocalMode(port=0, moto_port=0, worker=False).start()
        try:
            headers = {"Authorization": f"Bearer {local.token}"}
            sqs, queue_url = aws.sqs(), local.process_env()["DELIVERY_QUEUE_URL"]
            loop = make_worker_loop()
            for _ in range(runs):
                for _ in range(records):
                    requests.post(f"{local.url}/v2/publish/{receiver.url}", data=b"x", headers=headers, timeout=30)
                while _visible(sqs, queue_url) < records:
                    time.sleep(0.05)
                started = time.perf_counter()
                batches.append(loop.poll_once())
                durations.append(time.perf_counter() - started)
        finally:
            local.stop()
        delivered = receiver.arrived()
    return {
        "records": min(batches),
        "destination_sleep_ms": sleep_s * 1000,
        "batch_ms": statistics.median(durations) * 1000,
        "batch_ms_all": [d * 1000 for d in durations],
        "sequential_ms": min(batches) * sleep_s * 1000,
        "delivered": delivered,
    }


def _visible(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


# --- main -------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a ~1 minute run (small message counts)")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--error-share", type=float, default=0.0, help="share of first attempts answered 500")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="receiver latency")
    args = parser.parse_args(argv)
    quick = args.quick
    messages = 300 if quick else args.messages
    cost_messages = 20 if quick else 500
    runs = 5 if quick else 10

    env = {
        **os.environ,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update(
        {k: env[k] for k in ("POWERTOOLS_LOG_LEVEL", "POWERTOOLS_TRACE_DISABLED", "POWERTOOLS_METRICS_DISABLED")}
    )
    ceiling = {
        "in_process_per_s": backing_store_ceiling(300 if quick else 2000, server=False, env=env),
        "server_per_s": backing_store_ceiling(100 if quick else 500, server=True, env=env),
        "postbox_calls_per_s": backing_store_ceiling(300 if quick else 2000, server=False, env=env, calls="postbox"),
    }

    from local_mode.runtime import LocalMode

    counter = AwsCounter(path_of_thread)
    counter.install()
    local = LocalMode(port=0, moto_port=0).start()
    timer = HandlerTimer(local)

    def load(messages: int, **options: Any) -> dict[str, Any]:
        defaults = {"concurrency": args.concurrency, "body_bytes": 1024, "error_share": 0.0, "latency_s": 0.0}
        return run_load(local, counter, timer, messages=messages, retry_delay_ms=0, **{**defaults, **options})

    try:
        counter.estimate_units = False  # the per-item inspection would slow what is measured
        throughput = load(messages, error_share=args.error_share, latency_s=args.latency_ms / 1000)
        counter.estimate_units = True
        # Where the write units land, over as many messages: no partition key value may take a large share
        spread = load(messages)["hottest_partition_key"]
        ceiling["ratio"] = throughput["throughput_per_s"] / ceiling["in_process_per_s"]
        ceiling["ratio_to_postbox_calls"] = throughput["throughput_per_s"] / ceiling["postbox_calls_per_s"]
        # Latency is measured at a tenth of the capacity just measured, not at saturation.
        light = load(30 if quick else 300, concurrency=2, rate_per_s=throughput["throughput_per_s"] / 10)
        costs = {}
        for name, body_bytes, error_share in (
            ("1KB", 1024, 0.0),
            ("1KB+retry", 1024, 1.0),
            ("100KB", 100 * 1024, 0.0),
            ("100KB+retry", 100 * 1024, 1.0),
        ):
            run = load(cost_messages, body_bytes=body_bytes, error_share=error_share)
            costs[name] = {"load": run, "usd_per_million": cost_per_million(run)}
        rss = peak_rss_mb(local, 1000, env)
    finally:
        local.stop()
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_sha": _git_sha(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "throughput": throughput,
        "backing_store_ceiling": ceiling,
        "light_load": light,
        "batch_concurrency": {
            **batch_concurrency(),
            # The same batch to a destination that answers at once: what the batch's own work (reads, claims,
            # completions, signing) takes; the 200 ms waits overlap with it.
            "no_wait_batch_ms": batch_concurrency(sleep_s=0.0)["batch_ms"],
        },
        "cost": costs,
        "hottest_partition_key": {**spread, "messages": messages},
        "cost_floor_1kb": cost_floor(),
        "cold_start": cold_start(runs, env),
        "peak_rss_mb_1000_events": rss,
    }
    results["targets"] = targets(results)
    print(render(results))
    out = ROOT / "bench" / "results" / f"{results['date'][:10]}-{results['git_sha']}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {out.relative_to(ROOT)}")
    return 0


def _git_sha() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _percentiles(values: dict[Any, float]) -> str:
    return "  ".join(f"p{p} {v:.1f} ms" for p, v in values.items())


DYNAMODB_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets (the newest figure each issue set) beside the figures just measured."""
    light, ceiling, batch = results["light_load"], results["backing_store_ceiling"], results["batch_concurrency"]
    first_try = results["cost"]["1KB"]["load"]
    calls = first_try["aws_calls_per_message"]
    sqs = sum(v for k, v in calls.items() if " sqs:" in k)
    transactions = sum(v for k, v in calls.items() if k.endswith("dynamodb:TransactWriteItems"))
    usd = results["cost"]["1KB"]["usd_per_million"]
    cold = results["cold_start"]
    rows = [
        ("throughput / backing-store ceiling", ceiling["ratio"], 0.5, ">="),
        ("publish p99 at 10% load (ms)", light["publish_latency_ms"][99], 25.0, "<="),
        ("delivery lag p50 at 10% load (ms)", light["delivery_lag_ms"][50], 50.0, "<="),
        ("one batch of 10 / slowest attempt", batch["batch_ms"] / batch["destination_sleep_ms"], 2.0, "<="),
        (
            "DynamoDB write units per first-try 1 KB message",
            sum(first_try["dynamodb_wru_per_message"].values()),
            6.0,
            "<=",
        ),
        ("TransactWriteItems per first-try message", transactions, 0.0, "<="),
        ("SQS requests per first-try message", sqs, 2.0, "<="),
        ("hottest partition key's share of write units", results["hottest_partition_key"]["share"], 0.02, "<="),
        ("USD per 1M first-try 1 KB deliveries (HTTP API)", usd["total"], 6.0, "<="),
        ("USD per 1M first-try 1 KB deliveries (function URL)", usd["total_function_url"], 5.0, "<="),
        *(
            (f"cold import {module.split('.')[1]} / boto3", cold[module]["ratio_to_boto3"], 2.0, "<=")
            for module in HANDLERS
        ),
        ("peak RSS of an API handler process (MB)", results["peak_rss_mb_1000_events"], 100.0, "<="),
    ]
    return [
        {"target": name, "value": value, "bound": bound, "met": value >= bound if op == ">=" else value <= bound}
        for name, value, bound, op in rows
    ]


def render(results: dict[str, Any]) -> str:
    t, light, ceiling = results["throughput"], results["light_load"], results["backing_store_ceiling"]
    batch = results["batch_concurrency"]
    first_try = results["cost"]["1KB"]["load"]
    lines = [
        f"Postbox local-mode benchmark  {results['date']}  {results['git_sha']}  "
        f"(python {results['machine']['python']}, {results['machine']['cpus']} cpus)",
        "",
        f"throughput            {t['throughput_per_s']:.1f} messages/s delivered "
        f"({t['messages']} messages, {t['concurrency']} clients, {t['body_bytes']} B bodies)",
        f"backing-store ceiling {ceiling['in_process_per_s']:.1f} messages/s (bare loop, moto in-process; "
        f"{ceiling['server_per_s']:.1f} through a moto server)   ratio {ceiling['ratio']:.2f}",
        f"  the same loop with Postbox's own calls {ceiling['postbox_calls_per_s']:.1f} messages/s   "
        f"ratio {ceiling['ratio_to_postbox_calls']:.2f}",
        "publish latency       " + _percentiles(t["publish_latency_ms"]) + "   (saturated)",
        "delivery lag          " + _percentiles(t["delivery_lag_ms"]) + "   (saturated)",
        "publish latency       " + _percentiles(light["publish_latency_ms"]) + f"   (at {light['rate_per_s']:.1f}/s)",
        "delivery lag          " + _percentiles(light["delivery_lag_ms"]) + f"   (at {light['rate_per_s']:.1f}/s)",
        f"one worker batch      {batch['records']} records to a {batch['destination_sleep_ms']:.0f} ms destination "
        f"in {batch['batch_ms']:.0f} ms (sequential: {batch['sequential_ms']:.0f} ms; "
        f"to a destination answering at once: {batch['no_wait_batch_ms']:.0f} ms)",
        "",
        "AWS requests per delivered message (1 KB, first try):",
    ]
    lines += [f"  {name:<48} {count:6.2f}" for name, count in first_try["aws_calls_per_message"].items()]
    wru = sum(first_try["dynamodb_wru_per_message"].values())
    rru = sum(first_try["dynamodb_rru_per_message"].values())
    lines += [f"  DynamoDB write units {wru:.1f}, read units {rru:.1f} (estimated from item sizes)"]
    hot = results["hottest_partition_key"]
    lines += [
        f"  hottest partition key over {hot['messages']} messages: {hot['share']:.1%} of the write units "
        f"({hot['table']} = {hot['key']})"
    ]
    lines += ["", "USD per 1M delivered messages (QStash pay-as-you-go: $10.00):"]
    for name, cost in results["cost"].items():
        usd = cost["usd_per_million"]
        detail = "  ".join(f"{k} {v:.2f}" for k, v in usd.items() if not k.startswith(("total", "qstash")))
        lines.append(
            f"  {name:<12} total ${usd['total']:.2f}, ${usd['total_function_url']:.2f} with a function URL   ({detail})"
        )
    floor = results["cost_floor_1kb"]
    detail = "  ".join(f"{k} {v:.2f}" for k, v in floor.items() if not k.startswith("total"))
    lines.append(
        f"  floor of the fixed shape, 1KB: ${floor['total']:.2f}, ${floor['total_function_url']:.2f} with a function "
        f"URL   ({detail})"
    )
    cold = results["cold_start"]
    lines += ["", f"cold start (median import, fresh interpreter): boto3 {cold['boto3_s'] * 1000:.0f} ms"]
    lines.append(
        f"  {'required stack (no Postbox)':<28} {cold['required_stack_s'] * 1000:.0f} ms  "
        f"({cold['required_stack_ratio']:.1f}x boto3)"
    )
    for module in HANDLERS:
        lines.append(
            f"  {module:<28} {cold[module]['seconds'] * 1000:.0f} ms  ({cold[module]['ratio_to_boto3']:.1f}x boto3)"
        )
    lines.append(
        f"memory: peak RSS {results['peak_rss_mb_1000_events']:.0f} MB of an API handler process after 1000 events"
    )
    lines += ["", "targets:"]
    for row in results["targets"]:
        mark = "met" if row["met"] else "NOT met"
        lines.append(f"  {row['target']:<42} {row['value']:8.2f}  (target {row['bound']:g})  {mark}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
