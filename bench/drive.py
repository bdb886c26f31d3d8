"""The benchmark's load, in processes of its own: a receiver (the destination) and the publishing clients.

Neither is part of Postbox: run in Postbox's process, their HTTP parsing and threads would share its GIL and be
measured as Postbox's time (the clients alone took 6 % of it in a saturated run). Each runs in a fresh interpreter
on 127.0.0.1 and reports times of `time.monotonic()`, which on Linux is one clock for every process.

    python -m bench.drive receiver --error-share 0.1 --latency-ms 200   # prints its URL, serves until stdin closes
    python -m bench.drive publish URL TOKEN DESTINATION --messages 1000  # prints one JSON line of figures
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ARRIVALS_PATH = "/arrivals"
COUNT_PATH = "/arrivals/count"


class Receiver:
    """Answers 200 (or 500 on a first attempt, for `error_share` of the messages) after `latency_s`, keeping the
    connection open as a web server does (Postbox's sender pools connections per host). `GET /arrivals` answers
    when each message first arrived, by message id; `GET /arrivals/count` how many have."""

    def __init__(self, error_share: float, latency_s: float) -> None:
        self.error_share = error_share
        self.latency_s = latency_s
        self.arrivals: dict[str, float] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                message_id = self.headers.get("Upstash-Message-Id", "")
                first_attempt = self.headers.get("Upstash-Retried") == "0"
                fail = first_attempt and (zlib.crc32(message_id.encode()) % 1000) < receiver.error_share * 1000
                if receiver.latency_s:
                    time.sleep(receiver.latency_s)
                if not fail:
                    with receiver._lock:
                        receiver.arrivals.setdefault(message_id, time.monotonic())
                self._answer(500 if fail else 200, b"")

            def do_GET(self) -> None:
                with receiver._lock:
                    arrivals = dict(receiver.arrivals)
                if self.path == COUNT_PATH:
                    self._answer(200, str(len(arrivals)).encode())
                else:
                    self._answer(200 if self.path == ARRIVALS_PATH else 404, json.dumps(arrivals).encode())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 256
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def publish(
    api_url: str,
    token: str,
    destination: str,
    *,
    messages: int,
    concurrency: int,
    body_bytes: int,
    retry_delay_ms: int,
    rate_per_s: float = 0.0,
) -> dict[str, Any]:
    """Publish `messages` from `concurrency` clients (paced at `rate_per_s` when given). Returns when publishing
    started, each message's answer time by id, and each publish's latency (seconds)."""
    import requests

    body = b"x" * body_bytes
    url = f"{api_url}/v2/publish/{destination}"
    headers = {"Authorization": f"Bearer {token}", "Upstash-Retry-Delay": str(retry_delay_ms)}
    answered: dict[str, float] = {}
    latencies: list[float] = []
    lock = threading.Lock()
    sessions = threading.local()

    def one(n: int) -> None:
        session = getattr(sessions, "session", None) or requests.Session()
        sessions.session = session
        if rate_per_s:
            time.sleep(max(0.0, first + n / rate_per_s - time.monotonic()))
        started = time.monotonic()
        answer = session.post(url, data=body, headers=headers, timeout=60)
        answer.raise_for_status()
        done = time.monotonic()
        with lock:
            answered[answer.json()["messageId"]] = done
            latencies.append(done - started)

    first = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(messages)))
    return {"first": first, "answered": answered, "latencies": latencies}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.drive", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    receiver = commands.add_parser("receiver")
    receiver.add_argument("--error-share", type=float, default=0.0)
    receiver.add_argument("--latency-ms", type=float, default=0.0)
    publisher = commands.add_parser("publish")
    publisher.add_argument("api_url")
    publisher.add_argument("token")
    publisher.add_argument("destination")
    publisher.add_argument("--messages", type=int, required=True)
    publisher.add_argument("--concurrency", type=int, default=8)
    publisher.add_argument("--body-bytes", type=int, default=1024)
    publisher.add_argument("--retry-delay-ms", type=int, default=0)
    publisher.add_argument("--rate", type=float, default=0.0, help="publishes per second (0: as fast as they go)")
    args = parser.parse_args(argv)
    if args.command == "receiver":
        running = Receiver(args.error_share, args.latency_ms / 1000)
        print(running.url, flush=True)
        sys.stdin.read()  # until the benchmark closes our stdin (or goes away)
        running.server.shutdown()
        return 0
    figures = publish(
        args.api_url,
        args.token,
        args.destination,
        messages=args.messages,
        concurrency=args.concurrency,
        body_bytes=args.body_bytes,
        retry_delay_ms=args.retry_delay_ms,
        rate_per_s=args.rate,
    )
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
