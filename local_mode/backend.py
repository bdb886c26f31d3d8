"""The embedded AWS backend of local mode: moto, holding Postbox's tables, queues, secrets.

Local mode's own handlers reach it in-process (`mock_aws`): a request costs what moto's work costs, with no
HTTP round trip and no serialization (the server path made local mode several times slower). The same state is
also served by a moto server on 127.0.0.1, so a worker can run as a separate process (killed and restarted in
the crash tests, as a Lambda environment would be) and users can inspect it with the AWS CLI
(`aws --endpoint-url http://127.0.0.1:4566 dynamodb scan ...`). Both paths take one lock (`moto_patches`).
"""

from __future__ import annotations

import json
import logging
import os
import secrets as token_generator
import socket
import threading
from dataclasses import dataclass
from typing import Any

import boto3
import requests
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from functions.shared.resources import (
    BODIES_BUCKET,
    DELAY_SCHEDULES,
    DELIVERY_QUEUE,
    TABLES,
)
from local_mode.browser_guard import BrowserGuard
from local_mode.moto_patches import BACKEND_LOCK
from local_mode.ports import binding

REGION = "us-east-1"
PREFIX = "postbox-local"
# The QStash dev server's default credentials: SDK users' local setups keep working unchanged.
DEFAULT_TOKEN = "eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0="
DEFAULT_SIGNING_KEYS = {"current": "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r", "next": "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs"}
AUTH_SECRET = f"{PREFIX}/api-token"
SIGNING_SECRET = f"{PREFIX}/signing-keys"

# The process environment every AWS SDK client of local mode needs (fake credentials, never a real account).
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@dataclass(frozen=True)
class LocalBackend:
    endpoint: str
    token: str
    signing_keys: dict[str, str]
    env: dict[str, str]
    read_only_token: str = ""  # may call only the read routes (GET, except the signing keys)


def new_read_only_token() -> str:
    """A fresh read-only token: random, so that it never opens reads to whoever knows a published default."""
    return "ro_" + token_generator.token_urlsafe(24)


LOCAL_TIMINGS = {
    "ATTEMPT_TIMEOUT_SECONDS": "10",
    "MAX_ATTEMPT_TIMEOUT_SECONDS": "20",
    "CLAIM_MARGIN_SECONDS": "2",
    "SWEEP_GRACE_SECONDS": "60",
    "SECRET_CACHE_SECONDS": "5",
}


def function_env(endpoint: str | None) -> dict[str, str]:
    """Environment of the handlers in local mode: what the CDK stack sets on the Lambda functions, plus the
    endpoint of the embedded backend (None: in-process `mock_aws`) and the local-only switches."""
    return {
        **AWS_ENV,
        **({"AWS_ENDPOINT_URL": endpoint} if endpoint else {}),
        **{table.env_var: f"{PREFIX}-{table.logical_id.removesuffix('Table').lower()}" for table in TABLES},
        "AUTH_SECRET_ID": AUTH_SECRET,
        "SIGNING_KEYS_SECRET_ID": SIGNING_SECRET,
        BODIES_BUCKET.env_var: f"{PREFIX}-bodies",
        DELAY_SCHEDULES.env_var: f"{PREFIX}-delays",
        DELAY_SCHEDULES.role_env_var: f"arn:aws:iam::123456789012:role/{PREFIX}-scheduler",
        "WORKER_FUNCTION_ARN": f"arn:aws:lambda:{REGION}:123456789012:function:{PREFIX}-worker",
        "ALLOW_LOOPBACK_DESTINATIONS": "true",
        # No delivery leaves this machine unless the user says so (names other than localhost are not resolved).
        "DESTINATIONS_LOOPBACK_ONLY": os.environ.get("DESTINATIONS_LOOPBACK_ONLY", "true"),
        # Local mode's timings, shorter than a deployment's; the user's environment may set them (the soak does).
        **{name: os.environ.get(name, default) for name, default in LOCAL_TIMINGS.items()},
        "POWERTOOLS_SERVICE_NAME": "postbox",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"),
    }


class AtomicMotoServer(ThreadedMotoServer):
    """A moto server that handles one request at a time, holding the lock in-process requests take too.

    Local mode never long-polls, so nothing holds the lock long. It holds local mode's secrets and state and checks
    no credentials, so no web page may reach it: it answers no CORS (moto's own headers are removed, a preflight
    is refused), and refuses what a browser sends for a page and any `Host` but a loopback name
    (local_mode/browser_guard.py).
    """

    def start(self) -> None:
        """Bind in the caller's thread, so that a busy port raises `PortBusyError` here (moto's own `start` binds in
        its server thread, which dies without signalling, and waits for that signal forever); then serve in a
        thread."""
        backend_app = DomainDispatcherApplication(create_backend_app)
        guards: list[BrowserGuard] = []  # the one guard, made once the server's port is known

        def serialized(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
            method = str(environ.get("REQUEST_METHOD", ""))
            (guard,) = guards
            refusal = guard.refusal(method, "", headers) or ((403, "no CORS here") if method == "OPTIONS" else None)
            if refusal is not None:
                start_response("403 Forbidden", [("Content-Type", "application/json")])
                return [json.dumps({"error": refusal[1]}).encode()]

            def without_cors(status: str, response_headers: list[tuple[str, str]], *exc_info: Any) -> Any:
                kept = [(n, v) for n, v in response_headers if not n.lower().startswith("access-control-")]
                return start_response(status, kept, *exc_info)

            with BACKEND_LOCK:
                return list(backend_app(environ, without_cors))

        # Bound here, not by werkzeug, which prints two lines and exits the process when the port is taken
        with binding("the moto backend", self._port, "--moto-port", "MOTO_PORT"):
            listening = socket.create_server((self._ip_address, self._port))
        with listening:  # the server listens on its own copy of the socket
            server = make_server(
                self._ip_address, 0, serialized, True, request_handler=MotoRequestHandler, fd=listening.fileno()
            )
        guards.append(BrowserGuard(server.port, query_token=None))
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()
        self._server_ready_event.set()


def start_moto(port: int) -> tuple[ThreadedMotoServer, str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call is just noise
    server = AtomicMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    endpoint = f"http://{host}:{bound}"
    # In-process servers share moto's global state with any earlier server or mock_aws: start empty.
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    return server, endpoint


def provision(
    endpoint: str | None, token: str, signing_keys: dict[str, str], read_only_token: str | None = None
) -> LocalBackend:
    """Create Postbox's resources in the backend at `endpoint` (None: in-process `mock_aws`) from the
    definitions the CDK stack uses. The auth secret holds `token` (full access) and a read-only token (a new
    random one unless given)."""
    read_only_token = read_only_token or new_read_only_token()
    if read_only_token == token:
        raise ValueError("the read-only token must differ from the full-access token")
    env = function_env(endpoint)
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    for table in TABLES:
        dynamodb.create_table(**table.create_table_kwargs(env[table.env_var]))

    sqs = session.client("sqs", endpoint_url=endpoint)
    redrive_url = sqs.create_queue(QueueName=f"{PREFIX}-delivery-redrive")["QueueUrl"]
    redrive_arn = sqs.get_queue_attributes(QueueUrl=redrive_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=f"{PREFIX}-delivery",
        Attributes={
            "VisibilityTimeout": str(DELIVERY_QUEUE.visibility_timeout_seconds),
            "MessageRetentionPeriod": str(DELIVERY_QUEUE.retention_seconds),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": redrive_arn, "maxReceiveCount": str(DELIVERY_QUEUE.max_receive_count)}
            ),
        },
    )["QueueUrl"]
    env[DELIVERY_QUEUE.env_var] = queue_url

    session.client("s3", endpoint_url=endpoint).create_bucket(Bucket=env[BODIES_BUCKET.env_var])
    session.client("scheduler", endpoint_url=endpoint).create_schedule_group(Name=env[DELAY_SCHEDULES.env_var])

    secrets = session.client("secretsmanager", endpoint_url=endpoint)
    auth = {"token": token, "readOnlyTokens": [read_only_token]}  # the shape: functions/api/auth.py
    secrets.create_secret(Name=AUTH_SECRET, SecretString=json.dumps(auth))
    secrets.create_secret(Name=SIGNING_SECRET, SecretString=json.dumps(signing_keys))
    return LocalBackend(
        endpoint=endpoint or "in-process",
        token=token,
        signing_keys=dict(signing_keys),
        env=env,
        read_only_token=read_only_token,
    )
