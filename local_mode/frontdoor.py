"""Local mode's API Gateway: an HTTP server on 127.0.0.1 that turns each request into an HTTP API (payload
v2.0) event and calls the API handler, as API Gateway would."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.event_handler.openapi import swagger_ui

from functions.api.console import SECURITY_HEADERS
from functions.api.openapi import OPENAPI_PATH
from local_mode.browser_guard import BrowserGuard
from local_mode.lambda_context import LocalLambdaContext
from local_mode.ports import binding

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
logger = logging.getLogger(__name__)
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}")


SWAGGER_PATH = "/swagger"
SWAGGER_HTML = Template("""<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Postbox API</title><style>$css</style></head>
<body>
<div id="swagger-ui"></div>
<script nonce="$nonce">$js</script>
<script nonce="$nonce">
SwaggerUIBundle({
  spec: $spec,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  persistAuthorization: false,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
});
</script>
</body>
</html>
""")


class _Refused(Exception):  # noqa: N818 - a request the front door answers itself
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def read_chunked(stream: io.BufferedIOBase, limit: int) -> bytes:
    """A `Transfer-Encoding: chunked` body (the form a client uses when it does not know the length up front)."""
    body = bytearray()
    while True:
        line = stream.readline(1024)
        size_text = line.split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise _Refused(400, "invalid chunked body")
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > limit:
            raise _Refused(413, "request body too large")
        chunk = stream.read(size)
        if len(chunk) != size or stream.readline(3).strip():
            raise _Refused(400, "invalid chunked body")
        body += chunk
    while stream.readline(8192).strip():  # trailer fields, up to the blank line
        pass
    return bytes(body)


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
        allowed_origins: Iterable[str] = (),
    ) -> None:
        self.handler = handler
        self.function_name = function_name
        self.after_invoke = after_invoke
        self._lock = threading.Lock()
        with binding("the API", port, "--port", "PORT"):
            self.server = _Server(("127.0.0.1", port), self._request_handler_class())
        self.guard = BrowserGuard.of(self.server.server_address[1], allowed_origins)
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

    def swagger_page(self) -> tuple[dict[str, str], bytes]:
        """A Swagger UI page of the API's OpenAPI document, with Swagger UI's script and style inline (the copies
        Powertools ships), and its headers: the console's protections, its two scripts allowed by a nonce of this
        answer alone. The page loads nothing from anywhere else and keeps no token (none in local storage)."""
        event = build_event("GET", OPENAPI_PATH, [], b"", "127.0.0.1")
        spec = self.invoke(event).get("body") or "{}"
        assets = Path(swagger_ui.__file__).parent
        nonce = secrets.token_urlsafe(18)
        page = SWAGGER_HTML.substitute(
            spec=spec.replace("</", "<\\/"),
            css=(assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
            js=(assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
            nonce=nonce,
        )
        policy = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; connect-src 'self'; "
            "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
        headers = {k.lower(): v for k, v in SECURITY_HEADERS.items()} | {
            "content-security-policy": policy,
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-store",
        }
        return headers, page.encode()

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
                try:
                    body = self._read_body()
                except _Refused as refused:  # the body was not read: this connection cannot carry another request
                    self.close_connection = True
                    self._send_error(refused.status, refused.message)
                    return
                headers = {name.lower(): value for name, value in self.headers.items()}
                refusal = door.guard.refusal(self.command, self.path, headers)
                if refusal is not None:
                    self._send_error(*refusal)
                    return
                if self.command in ("GET", "HEAD") and self.path.partition("?")[0] == SWAGGER_PATH:
                    self._send(200, *door.swagger_page())
                    return
                event = build_event(self.command, self.path, list(self.headers.items()), body, self.client_address[0])
                try:
                    result = door.invoke(event)
                except Exception:  # API Gateway answers a failed invocation with a bare 500, never the traceback
                    logger.exception("the API handler failed")
                    self._send_error(500, "internal error")
                    return
                payload = result.get("body") or ""
                data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
                headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
                for name, values in (result.get("multiValueHeaders") or {}).items():
                    headers[name.lower()] = ", ".join(map(str, values))
                self._send(int(result.get("statusCode", 200)), headers, data)

            def _read_body(self) -> bytes:
                encodings = self.headers.get_all("transfer-encoding") or []
                lengths = self.headers.get_all("content-length") or []
                if encodings and lengths:  # a request framed two ways is how requests are smuggled
                    raise _Refused(400, "both Transfer-Encoding and Content-Length")
                if encodings:
                    if [e.strip().lower() for e in encodings] != ["chunked"]:
                        raise _Refused(400, "unsupported Transfer-Encoding")
                    return read_chunked(self.rfile, MAX_REQUEST_BYTES)
                if len(set(lengths)) > 1:
                    raise _Refused(400, "conflicting Content-Length")
                raw = (lengths[0] if lengths else "0").strip()
                if not raw.isdigit():
                    raise _Refused(400, "invalid Content-Length")
                length = int(raw)
                if length > MAX_REQUEST_BYTES:
                    raise _Refused(413, "request body too large")
                return self.rfile.read(length) if length else b""

            def _send_error(self, status: int, message: str) -> None:
                body = json.dumps({"error": message}).encode()
                self._send(status, {"content-type": "application/json", "x-request-id": str(uuid.uuid4())}, body)

            def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
                # http.server's own refusals (a request line or header too long: 414, 431; a malformed request:
                # 400) as JSON errors like every other answer, not its HTML page; the connection is not reused.
                self.close_connection = True
                self._send_error(code, message or HTTPStatus(code).phrase)

            def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name not in ("content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                if self.close_connection:
                    self.send_header("connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def __getattr__(self, name: str) -> Any:
                # `do_<METHOD>` for every method, as API Gateway passes any to the function (which answers 404 for
                # a method no route has), instead of http.server's 501 HTML page for the ones not defined here.
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
                return

        return RequestHandler
