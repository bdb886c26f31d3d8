"""The web console: a static page (HTML, ES modules, CSS in this folder) served at `/console` by the API function.

The page holds no data and needs no token to load: the user types a token into it, the page keeps it in session
storage and sends it as `Authorization: Bearer` on its calls to the API, which checks it as on any other call. So
`GET /console` and `GET /console/<asset>` are public routes (functions/api/routes/console.py; they are not API
operations: the OpenAPI document leaves them out), answered with a Content-Security-Policy that lets the page run
only its own scripts and styles and talk only to this origin. The files are read on the first request and kept.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

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


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: str


def answer(path: str, if_none_match: str = "") -> Answer:
    """The answer to a GET (or HEAD) of `path` under /console: the page (`/console`, `/console/`), one of its
    files, or 404; 304 when `if_none_match` names the file's current ETag."""
    name = path.removeprefix(CONSOLE_PATH).strip("/") or "index.html"
    asset = assets().get(name) if name == "index.html" or _ASSET_NAME.match(name) else None
    if asset is None:
        headers = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
        return Answer(404, SECURITY_HEADERS | headers, "not found\n")
    headers = SECURITY_HEADERS | {
        "Content-Type": asset.content_type,
        "Cache-Control": CACHE_CONTROL,
        "ETag": asset.etag,
    }
    if asset.etag in (tag.strip() for tag in if_none_match.split(",")):
        return Answer(304, headers, "")
    return Answer(200, headers, asset.body)
