"""The web console: a static page (HTML, ES modules, CSS in this folder) served at `/console` by the API function.

The page holds no data and needs no token to load: the user types a token into it, the page keeps it in session
storage and sends it as `Authorization: Bearer` on its calls to the API, which checks it as on any other call. So
`GET /console` and `GET /console/<asset>` are answered here, before the token check and the resolver (they are not
API operations: the OpenAPI document leaves them out), with a Content-Security-Policy that lets the page run only
its own scripts and styles and talk only to this origin. The files are read on the first request and kept.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CONSOLE_PATH = "/console"
ASSETS_DIR = Path(__file__).parent
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# Only the page's own scripts and styles, no inline script, style or event handler, no eval; fetches to this
# origin only; no framing, no <base>, no form submission (the token never leaves in a form or a URL).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Revalidated on every load (a 304 when unchanged), so a deployed change is picked up at once.
CACHE_CONTROL = "no-cache"
_ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\.(?:js|css)$")
_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Asset:
    body: str
    content_type: str
    etag: str


@cache
def assets() -> dict[str, Asset]:
    """The page (`index.html`) and its scripts and styles, by file name; read once, on the first request."""
    found = {}
    for path in sorted(ASSETS_DIR.iterdir()):
        content_type = CONTENT_TYPES.get(path.suffix)
        if content_type is None or not path.is_file():
            continue
        body = path.read_text(encoding="utf-8")
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
        found[path.name] = Asset(body=body, content_type=content_type, etag=etag)
    return found


def is_console_path(path: str) -> bool:
    return path in (CONSOLE_PATH, CONSOLE_PATH + "/") or path.startswith(CONSOLE_PATH + "/")


def console_response(event: dict[str, Any]) -> dict[str, Any] | None:
    """The answer to a GET (or HEAD) of the console's page or one of its files; None for any other request, which
    goes on to the token check and the resolver as usual."""
    path = str(event.get("rawPath", ""))
    method = str(event.get("requestContext", {}).get("http", {}).get("method", "")).upper()
    if method not in _METHODS or not is_console_path(path):
        return None
    name = path.removeprefix(CONSOLE_PATH).strip("/") or "index.html"
    asset = assets().get(name) if name == "index.html" or _ASSET_NAME.match(name) else None
    if asset is None:
        return _result(404, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}, "not found\n")
    headers = {"Content-Type": asset.content_type, "Cache-Control": CACHE_CONTROL, "ETag": asset.etag}
    requested = {k.lower(): v for k, v in (event.get("headers") or {}).items()}.get("if-none-match", "")
    if asset.etag in (tag.strip() for tag in requested.split(",")):
        return _result(304, headers, "")
    return _result(200, headers, asset.body)


def _result(status: int, headers: dict[str, str], body: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": SECURITY_HEADERS | headers, "body": body, "isBase64Encoded": False}
