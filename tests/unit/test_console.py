"""The web console's files and how the API function serves them (functions/api/console); the browser tests are in
tests/e2e/test_console.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from functions.api import console
from functions.api.app import app
from functions.api.auth import TOKEN_ACCESS_HEADER, Access
from functions.api.console import ASSETS_DIR, CONTENT_SECURITY_POLICY
from functions.api.routes.table import is_public
from local_mode.frontdoor import build_event
from local_mode.lambda_context import LocalLambdaContext

SCRIPTS = sorted(ASSETS_DIR.glob("*.js"))
# What would turn data into markup or code: none of it appears in the console's scripts.
UNSAFE_SINKS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setTimeout\(\s*['\"`]"
    r"|\.src\s*=|\.href\s*=|createContextualFragment|DOMParser"
)


def get(path: str, method: str = "GET", **headers: str) -> dict[str, Any] | None:
    """The resolver's answer to a request the gate lets through without a token; None for one it does not."""
    if not is_public(method, path):
        return None
    event = build_event(method, path, list(headers.items()), b"", "127.0.0.1")
    answer: dict[str, Any] = app.resolve(event, LocalLambdaContext("postbox-api"))  # type: ignore[arg-type]  # LambdaContext in shape
    return answer


def served(path: str, **headers: str) -> dict[str, Any]:
    """The console's answer to a GET of one of its paths."""
    answer = get(path, **headers)
    assert answer is not None, path
    return answer


def test_the_page_and_its_files_are_served_with_their_type_and_the_security_headers() -> None:
    # When the page and each of its files are requested
    answers = {path: served(path) for path in ("/console", "/console/", "/console/console.js", "/console/console.css")}

    # Then each is served whole, with its content type, the CSP, nosniff, no referrer and revalidation
    for path, answer in answers.items():
        assert answer is not None and answer["statusCode"] == 200, path
        headers = answer["headers"]
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-cache" and headers["ETag"].startswith('"')
    assert answers["/console"]["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert answers["/console"]["body"] == (ASSETS_DIR / "index.html").read_text()
    assert answers["/console/console.js"]["headers"]["Content-Type"] == "text/javascript; charset=utf-8"
    assert answers["/console/console.css"]["headers"]["Content-Type"] == "text/css; charset=utf-8"


def test_the_csp_allows_only_the_pages_own_files_and_origin() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives == {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "connect-src": "'self'",
        "img-src": "'self' data:",
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'none'",
    }


def test_an_unchanged_file_is_a_304_and_an_unknown_one_a_404() -> None:
    etag = served("/console/console.js")["headers"]["ETag"]
    not_modified = get("/console/console.js", **{"If-None-Match": f'"other", {etag}'})
    assert not_modified is not None and not_modified["statusCode"] == 304 and not_modified["body"] == ""
    for path in ("/console/missing.js", "/console/__init__.py", "/console/console.js/x", "/console/.hidden.js"):
        answer = get(path)
        assert answer is not None and answer["statusCode"] == 404, path
        assert answer["headers"]["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/console"), ("DELETE", "/console/console.js"), ("GET", "/consoles"), ("GET", "/v2/dlq")],
)
def test_anything_else_goes_on_to_the_token_check(method: str, path: str) -> None:
    assert get(path, method) is None


def test_a_head_is_answered_as_a_get() -> None:
    head, page = served("/console", method="HEAD"), served("/console")
    assert head["statusCode"] == 200 and head["headers"] == page["headers"]


def test_the_files_are_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the files read by an earlier request
    console.assets.cache_clear()
    get("/console")
    reads: list[Path] = []
    original = Path.read_text

    def read_text(self: Path, *args: Any, **kwargs: Any) -> str:
        reads.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)

    # When the page and a file are requested again
    get("/console")
    get("/console/console.js")

    # Then nothing is read from disk
    assert reads == []


def test_the_page_has_no_inline_script_style_or_handler_and_loads_only_its_own_files() -> None:
    page = (ASSETS_DIR / "index.html").read_text()
    assert re.findall(r"<script\b[^>]*>", page) == ['<script type="module" src="/console/console.js">']
    assert "<style" not in page and " style=" not in page
    assert not re.search(r"\son[a-z]+=", page)
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        own_file = url.startswith("/console/") and (ASSETS_DIR / url.removeprefix("/console/")).is_file()
        assert url == "data:," or own_file, url


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_never_turn_data_into_markup_or_code(script: Path) -> None:
    source = script.read_text()
    assert not UNSAFE_SINKS.findall(source)
    assert "style.cssText" not in source and 'setAttribute("style"' not in source
    # and import only the console's own modules
    for module in re.findall(r'from "([^"]+)"', source):
        assert module.startswith("./") and (ASSETS_DIR / module).is_file(), module


def test_bulk_calls_never_go_out_without_ids() -> None:
    # Without ids, POST /v2/dlq/retry and DELETE /v2/dlq act on every entry matching the (empty) filter
    source = (ASSETS_DIR / "api.js").read_text()
    assert 'if (!ids.length) throw new Error("no DLQ ids given");' in source
    assert source.count("inChunks(dlqIds,") == 2


def test_the_page_learns_the_tokens_access_from_the_header_the_api_sets() -> None:
    source = (ASSETS_DIR / "api.js").read_text()
    assert f'const ACCESS_HEADER = "{TOKEN_ACCESS_HEADER}";' in source
    assert {a.value for a in Access} == {"full", "read-only"}  # the values console.js compares with
    page = (ASSETS_DIR / "console.js").read_text()
    assert 'state.access === "full"' in page and 'access === "read-only"' in page
