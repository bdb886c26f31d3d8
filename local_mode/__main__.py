"""`python -m local_mode` (also `postbox-local`): run Postbox on this machine.

postbox-local                 # moto backend + HTTP front door on 127.0.0.1:8080 + worker loop
postbox-local worker          # only a worker loop, for the backend named by AWS_ENDPOINT_URL & co.

A port that is taken ends it at once with one line on stderr naming the flag that changes it (exit code 1).

--log-format (else POSTBOX_LOG_FORMAT): `pretty`, one line per publish, attempt outcome, cancel and schedule
fired plus every warning and error (`local_mode/terminal.py`; the default of `dev`), or `json`, the
handlers' Powertools JSON lines as deployed (the default of `worker`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable

from local_mode import terminal
from local_mode.ports import PortBusyError
from local_mode.runtime import LocalMode, make_worker_loop
from local_mode.worker_loop import DEFAULT_CONCURRENCY


def _wait_for_signal() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()


def _banner(local: LocalMode) -> str:
    assert local.backend is not None
    keys = local.backend.signing_keys
    return f"""
Postbox is running locally.

  Base URL           {local.url}
  Console            {local.url}/console
  Token              {local.backend.token}
  Read-only token    {local.backend.read_only_token}   (GET routes only, not the signing keys)
  Signing key        {keys["current"]}
  Next signing key   {keys["next"]}
  AWS backend (moto) {_backend_line(local)}

  Web pages cannot drive it: it refuses what a browser sends for another site (Origin, Sec-Fetch-Site),
  requests to a name that is not loopback (Host), and ?qstash_token= on anything but GET.
  {_origins_line(local)}

  export QSTASH_URL={local.url}
  export QSTASH_TOKEN={local.backend.token}
  export QSTASH_CURRENT_SIGNING_KEY={keys["current"]}
  export QSTASH_NEXT_SIGNING_KEY={keys["next"]}

  curl -X POST "{local.url}/v2/publish/http://127.0.0.1:9000/hook" \\
       -H "Authorization: Bearer $QSTASH_TOKEN" -H "Content-Type: application/json" -d '{{"hello":"world"}}'

Ctrl-C stops it.
"""


def _backend_line(local: LocalMode) -> str:
    assert local.backend is not None
    if local.moto_port is None:
        return "in this process only (--moto-port serves it on 127.0.0.1, for the AWS CLI or other processes)"
    endpoint = local.backend.endpoint
    return f"{endpoint}   (aws --endpoint-url {endpoint} ...; no web page can reach it)"


def _origins_line(local: LocalMode) -> str:
    if not local.allowed_origins:
        return "POSTBOX_ALLOWED_ORIGINS (comma-separated) lets the pages of an origin in."
    return f"Pages of {', '.join(local.allowed_origins)} are let in (POSTBOX_ALLOWED_ORIGINS)."


def _concurrency(value: str) -> int:
    number = int(value) if value.strip().isdigit() else 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: a whole number of at least 1")
    return number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="postbox-local", description="Run Postbox locally against moto.")
    parser.add_argument("command", nargs="?", default="dev", choices=["dev", "worker"])
    parser.add_argument("--port", type=int, default=8080, help="front door port on 127.0.0.1 (default 8080)")
    parser.add_argument(
        "--moto-port", type=int, default=None, help="serve the moto backend on this port of 127.0.0.1 (default: none)"
    )
    parser.add_argument("--no-worker", action="store_true", help="do not run the worker loop in this process")
    parser.add_argument(
        "--worker-concurrency",
        type=_concurrency,
        default=os.environ.get("POSTBOX_WORKER_CONCURRENCY", str(DEFAULT_CONCURRENCY)),  # argparse applies `type`
        help=f"batches the worker delivers at once (default: POSTBOX_WORKER_CONCURRENCY, else {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--log-format",
        choices=terminal.LOG_FORMATS,
        default=None,
        help=f"pretty: one line per event; json: the handlers' JSON lines (default: {terminal.ENV_VAR}, else "
        "pretty for dev and json for worker)",
    )
    args = parser.parse_args(argv)
    try:
        log_format = terminal.log_format(args.log_format, os.environ, "json" if args.command == "worker" else "pretty")
    except ValueError as exc:
        parser.error(str(exc))
    restore_logs = _pretty_logs() if log_format == "pretty" else None
    try:
        return _run(args)
    finally:
        if restore_logs is not None:
            restore_logs()


def _pretty_logs() -> Callable[[], None]:
    from functions.shared.observability import logger

    return terminal.install(logger)


def _run(args: argparse.Namespace) -> int:
    if args.command == "worker":
        from local_mode import faults

        faults.install_from_env()  # POSTBOX_FAULTS (the soak): before the worker makes its AWS clients
        loop = make_worker_loop(args.worker_concurrency)
        print(f"postbox worker polling {loop.queue_url}", flush=True)
        loop.start()
        _wait_for_signal()
        loop.stop()
        return 0

    local = LocalMode(
        port=args.port, moto_port=args.moto_port, worker=not args.no_worker, worker_concurrency=args.worker_concurrency
    )
    try:
        local.start()
    except PortBusyError as busy:
        print(f"postbox: {busy}", file=sys.stderr, flush=True)
        return 1
    print(_banner(local), flush=True)
    try:
        _wait_for_signal()
    finally:
        print("stopping...", flush=True)
        local.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
