"""Local mode's API Gateway: an HTTP server on 127.0.0.1 that turns each request into an HTTP API (payload
v2.0) event and calls the API handler, as API Gateway would."""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote_plus

from functions.local.lambda_context import LocalLambdaContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


def build_event(
    method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
) -> dict[str, Any]:
    """The event API Gateway HTTP API sends a Lambda proxy integration (payload format 2.0)."""
    raw_path, _, raw_query = target.partition("?")
    merged: dict[str, str] = {}
    for name, value in headers:  # API Gateway lowercases names and joins repeated headers with commas
        key = name.lower()
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    query: dict[str, str] = {}
    for pair in filter(None, raw_query.split("&")):
        key, _, value = pair.partition("=")
        key, value = unquote_plus(key), unquote_plus(value)
        query[key] = f"{query[key]},{value}" if key in query else value
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": merged.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "body": base64.b64encode(body).decode() if body else None,
        "isBase64Encoded": bool(body),
    }
    if query:
        event["queryStringParameters"] = query
    if "cookie" in merged:
        event["cookies"] = [c.strip() for c in merged["cookie"].split(";")]
    return event


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default backlog of 5 resets bursts of concurrent clients
    daemon_threads = True


class FrontDoor:
    """Serves the API on 127.0.0.1. Calls are serialized, as one Lambda environment handles one event at a time."""

    def __init__(
        self,
        handler: Handler,
        port: int,
        function_name: str = "postbox-api",
        after_invoke: Callable[[], None] | None = None,
    ) -> None:
        self.handler = handler
        self.function_name = function_name
        self.after_invoke = after_invoke
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", port), self._request_handler_class())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            result = self.handler(event, LocalLambdaContext(self.function_name, timeout_s=30))
        if self.after_invoke:
            self.after_invoke()
        return result

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name="front-door", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _request_handler_class(self) -> type[BaseHTTPRequestHandler]:
        door = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "postbox-local"

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length > MAX_REQUEST_BYTES:
                    self._send(413, {"content-type": "application/json"}, b'{"error": "request body too large"}')
                    return
                body = self.rfile.read(length) if length else b""
                event = build_event(self.command, self.path, list(self.headers.items()), body, self.client_address[0])
                result = door.invoke(event)
                payload = result.get("body") or ""
                data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
                headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
                for name, values in (result.get("multiValueHeaders") or {}).items():
                    headers[name.lower()] = ", ".join(map(str, values))
                self._send(int(result.get("statusCode", 200)), headers, data)

            def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name not in ("content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
                return

        return RequestHandler
