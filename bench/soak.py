"""`make soak`: thousands of messages through local mode while everything that can break does, then the
accounting invariant (`bench.accounting`): lost must be 0; duplicates are counted and reported.

Faults, all at once:
- destinations that answer 500 (once, or always: those end in the DLQ), 429 with Retry-After, too late for the
  attempt's timeout, with a body trickled slowly, with headers trickled past the attempt's deadline, with ~480 KB
  of headers (200 or 500), or by resetting the connection; and a port nothing listens on;
- the worker processes SIGKILLed at random moments and started again (their records come back after the
  visibility timeout);
- DynamoDB throttling and SQS errors for a share of calls, injected through botocore in every Postbox process
  (`local_mode.faults`), botocore's own retries included;
- a poison record (a body no worker can parse) that must land in the delivery queue's redrive queue without
  holding up its batch;
- cancels of delayed messages.

Everything runs on 127.0.0.1: local mode (API, scheduler and sweep in this process; workers in their own),
the receiver, and a moto server.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import requests

from bench.accounting import Report, account, dead_lettered, final_states

ROOT = Path(__file__).resolve().parents[1]

# What a destination does, by the path a message is published to (shares of the published messages).
KINDS = {
    "ok": 0.34,
    "flaky": 0.12,  # 500 on the first attempt
    "throttled": 0.10,  # 429 with Retry-After: 1 on the first attempt
    "late": 0.06,  # answers 200 after the attempt's timeout on the first attempt (a duplicate, by design)
    "slow": 0.08,  # trickles its body
    "reset": 0.08,  # resets the connection on the first attempt
    "broken": 0.05,  # always 500: the DLQ
    "refused": 0.04,  # nothing listens: the DLQ
    "cancel": 0.07,  # published with a delay, then cancelled
    "bloated": 0.02,  # 200 with ~480 KB of headers (more than an item holds): delivered once, not looped
    "bloated_broken": 0.02,  # always 500 with ~480 KB of headers: the DLQ after its retries
    "trickled": 0.02,  # trickles its headers past the attempt's deadline on the first attempt (a duplicate)
}
BLOATED_HEADERS = {f"X-Bloat-{i}": "b" * 60_000 for i in range(8)}
ATTEMPT_TIMEOUT_S = 1
RETRIES = 2

# Local mode's timings for the soak: short, so that a killed worker's records come back in seconds.
TIMINGS = {
    "ATTEMPT_TIMEOUT_SECONDS": "5",
    "MAX_ATTEMPT_TIMEOUT_SECONDS": "4",
    "CLAIM_MARGIN_SECONDS": "1",
    "SWEEP_GRACE_SECONDS": "120",  # the sweep is the backstop for lost records, not for a backlog
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


class _QuietServer(ThreadingHTTPServer):
    """A connection its caller reset (a killed worker, an attempt cut at its deadline) is part of the soak, not an
    error worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Receiver:
    """A destination with faults, counting the 2xx answers it gives per message id."""

    def __init__(self) -> None:
        self.delivered: Counter[str] = Counter()
        self.requests = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: PLR0911 - one answer per kind of destination
                self.rfile.read(int(self.headers.get("content-length") or 0))
                kind = self.path.rsplit("/", 1)[-1]
                message_id = self.headers.get("Upstash-Message-Id", "")
                first = self.headers.get("Upstash-Retried", "0") == "0"
                with receiver._lock:
                    receiver.requests += 1
                if first and kind == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                if first and kind == "flaky" or kind == "broken":
                    return self._answer(500, b"injected failure")
                if kind == "bloated_broken":
                    return self._answer(500, b"injected failure", BLOATED_HEADERS)
                if kind == "bloated":
                    return self._answer(200, b"ok", BLOATED_HEADERS, message_id=message_id)
                if first and kind == "trickled":
                    return self._trickle_headers(message_id)
                if first and kind == "throttled":
                    return self._answer(429, b"slow down", {"Retry-After": "1"})
                if first and kind == "late":
                    time.sleep(ATTEMPT_TIMEOUT_S + 0.5)
                if kind == "slow":
                    return self._trickle(message_id)
                self._answer(200, b"ok", message_id=message_id)

            def _answer(
                self, status: int, body: bytes, headers: dict[str, str] | None = None, message_id: str = ""
            ) -> None:
                if message_id:
                    with receiver._lock:
                        receiver.delivered[message_id] += 1
                try:
                    self.send_response(status)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    self.close_connection = True  # the caller gave up (a late answer)

            def _trickle(self, message_id: str) -> None:
                with receiver._lock:
                    receiver.delivered[message_id] += 1
                body = b"x" * 64
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    for start in range(0, len(body), 16):
                        self.wfile.write(body[start : start + 16])
                        self.wfile.flush()
                        time.sleep(0.05)
                except OSError:
                    self.close_connection = True  # the caller went away (a killed worker)

            def _trickle_headers(self, message_id: str) -> None:
                """A 200 whose headers take twice the attempt's timeout, a byte at a time (each byte well within
                a read timeout): the attempt's deadline cuts it."""
                with receiver._lock:
                    receiver.delivered[message_id] += 1
                head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Slow: " + b"s" * 20 + b"\r\n\r\nok"
                pause = 2 * ATTEMPT_TIMEOUT_S / len(head)
                self.close_connection = True
                try:
                    for byte in head:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(pause)
                except OSError:
                    pass  # cut off

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Workers:
    """Worker processes (each a Lambda execution environment), killed with SIGKILL and started again."""

    def __init__(self, env: dict[str, str], count: int, log: Path) -> None:
        self.env = env
        self.log = log
        self.kills = 0
        self.processes = [self._start() for _ in range(count)]

    def _start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "local_mode", "worker"], env=self.env, stdout=out, stderr=out, cwd=ROOT
            )

    def kill_one(self, rng: random.Random) -> None:
        index = rng.randrange(len(self.processes))
        self.processes[index].send_signal(signal.SIGKILL)
        self.processes[index].wait(timeout=10)
        self.kills += 1
        self.processes[index] = self._start()

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@dataclass
class SoakResult:
    report: Report
    seconds: float
    messages: int
    kinds: dict[str, int]
    worker_kills: int
    injected_faults: dict[str, int]
    publish_retries: int
    poison_in_redrive: bool
    pending_at_deadline: int = 0
    failures: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        return "\n".join(
            [
                f"soak: {self.messages} messages in {self.seconds:.0f} s; kinds {self.kinds}",
                f"faults: {self.worker_kills} worker kills, AWS faults injected in this process "
                f"{self.injected_faults}, {self.publish_retries} publish retries",
                self.report.summary(),
                f"poison record in the redrive queue: {self.poison_in_redrive}",
                *(f"  lost {mid}: {why}" for mid, why in list(self.report.lost.items())[:20]),
            ]
        )


def run_soak(
    messages: int,
    *,
    publishers: int = 4,
    workers: int = 2,
    kill_every_s: float = 8.0,
    aws_fault_share: float = 0.03,
    settle_timeout_s: float = 300.0,
    max_backlog: int = 200,
    seed: int = 1,
    log_dir: Path | None = None,
) -> SoakResult:
    from local_mode import faults
    from local_mode.runtime import LocalMode, make_scheduler_loop

    rng = random.Random(seed)
    saved = {name: os.environ.get(name) for name in (*TIMINGS, faults.ENV_VAR)}
    os.environ.update(TIMINGS)
    spec = f"dynamodb={aws_fault_share},sqs={aws_fault_share}"
    injector = faults.FaultInjector(faults.parse(spec), seed=seed)
    harness = boto3.session.Session(region_name="us-east-1")  # made before the faults: the soak's own calls see none
    injector.install()  # this process: the API and the sweep
    receiver = Receiver()
    local = LocalMode(port=0, moto_port=0, worker=False).start()
    log = (log_dir or Path("/tmp")) / f"soak-workers-{os.getpid()}.log"
    pool: Workers | None = None
    started = time.monotonic()
    try:
        # The deployed stack sweeps every few minutes; here every 10 s, by this process.
        sweeping = make_scheduler_loop(sweep=True)
        assert local.scheduler is not None
        local.scheduler.sweep, local.scheduler.sweep_every_s = sweeping.sweep, 10.0
        pool = Workers({**local.process_env(), faults.ENV_VAR: spec}, workers, log)
        sqs = harness.client("sqs", endpoint_url=local.backend.endpoint)
        poison_id = _send_poison(sqs, local)

        since_ms = time.time_ns() // 1_000_000 - 1000
        plan = _plan(messages, rng)
        stop_killing = threading.Event()
        killer = threading.Thread(target=_kill_loop, args=(pool, rng, kill_every_s, stop_killing), daemon=True)
        killer.start()
        publisher = Publisher(local, receiver, plan, max_backlog)
        publisher.run(publishers)
        published, cancelled = publisher.published, publisher.cancelled

        api = _api(local)
        deadline = time.monotonic() + settle_timeout_s
        report = _settle(api, published, cancelled, receiver, since_ms, deadline, stop_killing)
        stop_killing.set()
        killer.join()
        poison = _poison_in_redrive(sqs, local, poison_id, timeout_s=max(5.0, deadline - time.monotonic()))
        return SoakResult(
            report=report,
            seconds=time.monotonic() - started,
            messages=messages,
            kinds=dict(Counter(plan)),
            worker_kills=pool.kills,
            injected_faults=dict(injector.injected),
            publish_retries=publisher.retries,
            poison_in_redrive=poison,
        )
    finally:
        if pool:
            pool.stop()
        local.stop()
        receiver.stop()
        injector.uninstall()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _plan(messages: int, rng: random.Random) -> list[str]:
    kinds, weights = zip(*KINDS.items(), strict=True)
    return rng.choices(kinds, weights=weights, k=messages)


def _headers(local: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {local.token}"}


def _request(
    session: requests.Session, method: str, url: str, *, attempts: int, pause_s: float, **kwargs: Any
) -> tuple[requests.Response, int]:
    """Postbox's answer and how many requests it took: asked again after a 5xx or a failed connection (the API
    meets the injected faults too)."""
    for attempt in range(attempts):
        try:
            answer = session.request(method, url, timeout=60, **kwargs)
            if answer.status_code < 500:
                return answer, attempt + 1
        except requests.ConnectionError:
            pass
        time.sleep(pause_s * (attempt + 1))
    raise RuntimeError(f"{method} {url} kept failing")


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def _api(local: Any) -> Any:
    session = _session()

    def get(path: str, params: Any) -> dict[str, Any]:
        answer, _ = _request(
            session, "GET", local.url + path, attempts=10, pause_s=0.2, params=params, headers=_headers(local)
        )
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    return get


class Publisher:
    """Publishes the plan from several threads, keeping at most `max_backlog` messages on their way to the
    receiver (moto's SQS slows down with the queue's depth, and a soak measures faults, not a backlog)."""

    NEVER_DELIVERED = ("broken", "bloated_broken", "refused", "cancel")

    def __init__(self, local: Any, receiver: Receiver, plan: list[str], max_backlog: int) -> None:
        self.local = local
        self.receiver = receiver
        self.plan = plan
        self.max_backlog = max_backlog
        self.refused_url = f"http://127.0.0.1:{closed_port()}"
        self.published: list[str] = []
        self.cancelled: list[str] = []
        self.retries = 0
        self._sent = self._undeliverable = 0
        self._last_report = time.monotonic()
        self._lock = threading.Lock()
        self._session = _session()

    def run(self, publishers: int) -> None:
        with ThreadPoolExecutor(publishers) as pool:
            list(pool.map(self.publish, range(len(self.plan))))

    def publish(self, n: int) -> None:
        kind = self.plan[n]
        self._wait_for_room(kind)
        headers = {
            **_headers(self.local),
            "Content-Type": "application/json",
            "Upstash-Retries": str(RETRIES),
            "Upstash-Retry-Delay": "300",
            "Upstash-Timeout": f"{ATTEMPT_TIMEOUT_S}s",
            # A retried publish must not make a second message: the same id is the same message.
            "Upstash-Deduplication-Id": f"soak-{os.getpid()}-{n}",
        }
        if kind == "cancel":
            headers["Upstash-Delay"] = "30s"
        base = self.refused_url if kind == "refused" else self.receiver.url
        answer = self._call("POST", f"/v2/publish/{base}/soak/{n}/{kind}", headers)
        assert answer.status_code in (200, 201, 202), answer.text
        message_id = answer.json()["messageId"]
        if kind == "cancel":
            cancel = self._call("DELETE", f"/v2/messages/{message_id}", _headers(self.local))
            assert cancel.status_code < 300, cancel.text
        with self._lock:
            self.published.append(message_id)
            if kind == "cancel":
                self.cancelled.append(message_id)

    def _wait_for_room(self, kind: str) -> None:
        while True:
            with self._lock:
                backlog = self._sent - self._undeliverable - len(self.receiver.delivered)
                if time.monotonic() - self._last_report > 30:
                    self._last_report = time.monotonic()
                    print(f"soak: {self._sent}/{len(self.plan)} published, {backlog} on their way", flush=True)
                if backlog < self.max_backlog:
                    self._sent += 1
                    self._undeliverable += kind in self.NEVER_DELIVERED
                    return
            time.sleep(0.05)

    def _call(self, method: str, path: str, headers: dict[str, str]) -> requests.Response:
        url = self.local.url + path
        answer, tries = _request(
            self._session, method, url, attempts=20, pause_s=0.05, headers=headers, data=b'{"soak": true}'
        )
        with self._lock:
            self.retries += tries - 1
        return answer


def _kill_loop(pool: Workers, rng: random.Random, every_s: float, stop: threading.Event) -> None:
    while not stop.wait(rng.uniform(0.5 * every_s, 1.5 * every_s)):
        pool.kill_one(rng)


def _settle(
    api: Any,
    published: list[str],
    cancelled: list[str],
    receiver: Receiver,
    since_ms: int,
    deadline: float,
    stop_killing: threading.Event,
) -> Report:
    """Wait until every message is final (or the deadline), then account. The killing stops when nine in ten are
    final, so the rest can settle."""
    while True:
        log = final_states(api, since_ms)
        report = account(published, log, dead_lettered(api), dict(receiver.delivered), cancelled)
        if report.settled >= 0.9 * report.published:
            stop_killing.set()
        if not report.lost or time.monotonic() > deadline:
            return report
        time.sleep(3)


def _send_poison(sqs: Any, local: Any) -> str:
    answer = sqs.send_message(QueueUrl=local.backend.env["DELIVERY_QUEUE_URL"], MessageBody="{not json")
    return str(answer["MessageId"])


def _poison_in_redrive(sqs: Any, local: Any, poison_id: str, timeout_s: float) -> bool:
    attributes = sqs.get_queue_attributes(QueueUrl=local.backend.env["DELIVERY_QUEUE_URL"], AttributeNames=["All"])
    redrive_arn = json.loads(attributes["Attributes"]["RedrivePolicy"])["deadLetterTargetArn"]
    redrive_url = sqs.get_queue_url(QueueName=redrive_arn.rsplit(":", 1)[-1])["QueueUrl"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = sqs.receive_message(QueueUrl=redrive_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        if any(m["MessageId"] == poison_id for m in found.get("Messages", [])):
            return True
        time.sleep(1)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-every", type=float, default=15.0, help="seconds between worker kills (about)")
    parser.add_argument("--aws-fault-share", type=float, default=0.03)
    parser.add_argument("--settle-timeout", type=float, default=900.0)
    parser.add_argument("--max-backlog", type=int, default=200, help="messages on their way at most")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # before Postbox's loggers exist: a line per message otherwise
    result = run_soak(
        args.messages,
        publishers=args.publishers,
        workers=args.workers,
        kill_every_s=args.kill_every,
        aws_fault_share=args.aws_fault_share,
        settle_timeout_s=args.settle_timeout,
        max_backlog=args.max_backlog,
        seed=args.seed,
    )
    print(result.summary())
    sha_run = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    sha = sha_run.stdout
    out = ROOT / "bench" / "results" / f"soak-{datetime.now(UTC).date()}-{sha.strip() or 'unknown'}.json"
    payload = {**asdict(result), "report": {**asdict(result.report), "duplicate_rate": result.report.duplicate_rate}}
    out.write_text(json.dumps(payload, indent=2))
    print(f"written to {out.relative_to(ROOT)}")
    return 0 if not result.report.lost and result.poison_in_redrive else 1


if __name__ == "__main__":
    sys.exit(main())
