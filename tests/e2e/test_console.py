"""The web console (`/console`, functions/api/console) in Debian's Chromium, driven by Playwright, against local mode.

Chromium comes from Debian (`apt-get install chromium`, which `.ci/run` does): Playwright's own browser download
cannot reach its host from here. Without /usr/bin/chromium the module is skipped. The browser runs with background
networking off, and every request the page makes is checked to go to local mode's front door.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from functions.api.console import CONTENT_SECURITY_POLICY
from local_mode.runtime import LocalMode
from tests.e2e.conftest import wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Dialog

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")

pytestmark = pytest.mark.e2e

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
XSS_BODY = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
XSS_RESPONSE = '<img src=x onerror="window.pwned=3"><script>window.pwned=4</script>'
TIMEOUT_MS = 10_000
# Assertions on the page wait as long as its actions do (Playwright's default is 5 s): on a loaded machine an API call
# of the console can take longer than that, and a page that is slow is not a page that is wrong.
sync_api.expect.set_options(timeout=TIMEOUT_MS)


class Receiver:
    """Destinations on 127.0.0.1: `/hook-a` and `/hook-b` fail until `healthy` is set; `/xss` always fails, with
    markup in its answer."""

    def __init__(self) -> None:
        self.server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self.healthy = False
        self.delivered: list[str] = []  # Upstash-Message-Id of every request answered 200

    def answer(self, request: Request) -> Response:
        if self.healthy:
            self.delivered.append(request.headers.get("Upstash-Message-Id", ""))
            return Response("ok", status=200)
        return Response(f"receiver down: {request.path}", status=500, content_type="text/plain")

    def start(self) -> Receiver:
        self.server.start()
        for path in ("/hook-a", "/hook-b"):
            self.server.expect_request(path).respond_with_handler(self.answer)
        self.server.expect_request("/xss").respond_with_response(
            Response(XSS_RESPONSE, status=500, content_type="text/html", headers={"X-Evil": "<b>bold</b>"})
        )
        return self

    def url(self, path: str) -> str:
        return self.server.url_for(path)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    try:
        yield receiver
    finally:
        receiver.server.clear()
        receiver.server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright = sync_api.sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser: Any, local: LocalMode) -> Iterator[Any]:
    """A fresh browser context (its own session storage); fails the test on a CSP violation, a script error, or
    a request to anywhere but local mode."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "401" not in m.text else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "request",
        lambda r: None if r.url.startswith((local.url + "/", "data:")) else problems.append(f"request to {r.url}"),
    )
    try:
        yield page
    finally:
        context.close()
    assert not problems, problems


def publish(local: LocalMode, url: str, body: str, **headers: str) -> str:
    answer = requests.post(
        f"{local.url}/v2/publish/{url}",
        headers={"Authorization": f"Bearer {local.token}", "Upstash-Retries": "0", **headers},
        data=body.encode(),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["messageId"])


def dlq(local: LocalMode, **query: str) -> list[dict[str, Any]]:
    answer = requests.get(
        f"{local.url}/v2/dlq", params=query, headers={"Authorization": f"Bearer {local.token}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["messages"])


def status(local: LocalMode, message_id: str) -> str:
    answer = requests.get(
        f"{local.url}/v1/messages/{message_id}", headers={"Authorization": f"Bearer {local.token}"}, timeout=10
    )
    return str(answer.json()["data"]["status"]) if answer.status_code == 200 else ""


def sign_in(page: Any, local: LocalMode, token: str | None = None) -> None:
    page.goto(f"{local.url}/console")
    page.fill("#token", token or local.token)
    page.click("#connect")


@pytest.fixture(scope="module")
def failed(local: LocalMode, receiver: Receiver) -> dict[str, list[str]]:
    """Messages published with no retries to failing destinations, waited for in the DLQ: 3 to /hook-a (labelled
    `billing`), 1 to /hook-b."""
    published = {
        "a": [publish(local, receiver.url("/hook-a"), f"order {n}", **{"Upstash-Label": "billing"}) for n in range(3)],
        "b": [publish(local, receiver.url("/hook-b"), "invoice", **{"Content-Type": "text/plain"})],
    }
    wait_until(lambda: len(dlq(local)) >= 4, timeout=20, what="4 DLQ entries")
    return published


def test_console_is_public_and_served_with_a_strict_csp(local: LocalMode) -> None:
    # When the page and its files are fetched without a token
    page = requests.get(f"{local.url}/console", timeout=5)
    script = requests.get(f"{local.url}/console/console.js", timeout=5)
    style = requests.get(f"{local.url}/console/console.css", timeout=5)

    # Then each is served with its type, the CSP and the other security headers, and revalidation headers
    assert page.status_code == script.status_code == style.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert style.headers["Content-Type"] == "text/css; charset=utf-8"
    for answer in (page, script, style):
        assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["Cache-Control"] == "no-cache" and answer.headers["ETag"]
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY and "unsafe" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    # an unchanged file is a 304; an unknown one a 404; any other method on the console is an API call (401)
    again = requests.get(f"{local.url}/console", headers={"If-None-Match": page.headers["ETag"]}, timeout=5)
    assert again.status_code == 304 and again.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert requests.get(f"{local.url}/console/missing.js", timeout=5).status_code == 404
    assert requests.post(f"{local.url}/console", timeout=5).status_code == 401


def test_a_wrong_token_is_refused_and_nothing_is_shown(page: Any, local: LocalMode) -> None:
    # When a wrong token is entered
    sign_in(page, local, token="not-the-token")

    # Then the API's refusal is shown, the token is dropped and the data panels stay hidden
    sync_api.expect(page.locator("#notice")).to_contain_text("refused the token")
    sync_api.expect(page.locator("#app")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0


def test_the_page_says_where_a_token_comes_from_before_one_is_entered(page: Any, local: LocalMode) -> None:
    expect = sync_api.expect
    # When the console is opened without a token
    page.goto(f"{local.url}/console")

    # Then the token form says where local mode prints one and where a deployed stack keeps it
    hint = page.locator("#token-hint")
    expect(hint).to_be_visible()
    for text in ("Token", "make dev", "postbox dev", "QSTASH_TOKEN", "Secrets Manager", "ApiTokenSecretArn"):
        expect(hint).to_contain_text(text)
    expect(page.locator("#app")).to_be_hidden()
    assert page.locator("#token").get_attribute("aria-describedby") == "token-hint"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-token.png"))

    # And once a token is in use the hint gives way to the data
    sign_in(page, local)
    expect(page.locator("#app")).to_be_visible()
    expect(hint).to_be_hidden()


def test_a_read_only_token_can_look_but_is_offered_no_retry_or_delete(
    page: Any, local: LocalMode, receiver: Receiver, failed: dict[str, list[str]]
) -> None:
    expect = sync_api.expect
    writes: list[str] = []
    page.on("request", lambda r: writes.append(f"{r.method} {r.url}") if r.method != "GET" else None)
    before = dlq(local)

    # When the console is signed in with local mode's read-only token
    sign_in(page, local, token=local.read_only_token)

    # Then the DLQ is listed, the page says the token is read-only, and every retry and delete control (the
    # selection boxes, the bulk buttons, the detail pane's buttons) is disabled, saying why
    rows = page.locator("#dlq-rows tr")
    expect(rows).to_have_count(len(before))
    expect(page.locator("#token-access")).to_contain_text("Read-only token")
    controls = [
        page.locator("#select-page"),
        rows.first.locator("input.select-entry"),
        page.locator("#retry-selected"),
        page.locator("#delete-selected"),
    ]
    rows.first.locator("button.open").click()
    expect(page.locator("#detail").get_by_test_id("response-status")).to_have_text("500")
    controls += [page.locator("#detail-retry"), page.locator("#detail-delete")]
    for control in controls:
        expect(control).to_be_disabled()
        expect(control).to_have_attribute("title", re.compile("^read-only token"))
    page.screenshot(path=str(ARTIFACTS / "console-read-only.png"), full_page=True)
    page.locator("#detail-delete").click(force=True)  # a click on the disabled button does nothing

    # And no write was sent: the DLQ is as it was
    page.click("#dlq-refresh")
    expect(rows).to_have_count(len(before))
    assert writes == []
    assert [e["dlqId"] for e in dlq(local)] == [e["dlqId"] for e in before]

    # When the full token replaces it, the same controls are enabled again, with no read-only title
    page.fill("#token", local.token)
    page.click("#connect")
    expect(page.locator("#token-access")).to_be_hidden()
    rows.first.locator("input.select-entry").check()
    for control in (page.locator("#retry-selected"), page.locator("#delete-selected"), page.locator("#detail-retry")):
        expect(control).to_be_enabled()
        assert control.get_attribute("title") is None


def test_dlq_lists_filters_and_opens_a_detail(
    page: Any, local: LocalMode, receiver: Receiver, failed: dict[str, list[str]]
) -> None:
    expect = sync_api.expect
    # Given a DLQ holding the failed messages, and the console signed in
    sign_in(page, local)
    rows = page.locator("#dlq-rows tr")
    expect(rows).to_have_count(len(dlq(local)))
    assert "token" not in page.url and local.token not in page.url
    assert page.evaluate("sessionStorage.getItem('postbox.console.token')") == local.token
    expect(page.get_by_test_id("total-failed")).not_to_have_text("0")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-dlq.png"), full_page=True)

    # When filtering by /hook-a's URL and status 500
    page.fill("#filter-url", receiver.url("/hook-a"))
    page.fill("#filter-status", "500")
    page.click("#filter-apply")

    # Then only its three entries are listed
    expect(rows).to_have_count(3)
    expect(page.locator("#dlq-rows td.url")).to_have_text([receiver.url("/hook-a")] * 3)

    # When the label filter and a date range that ends before they failed are applied
    page.fill("#filter-label", "billing")
    page.fill("#filter-to", "2001-01-01T00:00:00")
    page.click("#filter-apply")
    expect(page.locator("#dlq-empty")).to_be_visible()
    page.fill("#filter-to", "")
    page.click("#filter-apply")
    expect(rows).to_have_count(3)

    # When the first entry is opened
    rows.first.locator("button.open").click()

    # Then the detail pane shows the request, the receiver's answer and the attempts from the event log
    detail = page.locator("#detail")
    expect(detail).to_be_visible()
    expect(detail.get_by_test_id("response-status")).to_have_text("500")
    expect(detail.get_by_test_id("response-body")).to_have_text("receiver down: /hook-a")
    expect(detail.get_by_test_id("request-body")).to_have_text(re.compile(r"^order [0-2]$"))
    expect(detail.get_by_test_id("timeline")).to_contain_text("FAILED")
    expect(detail.get_by_test_id("timeline")).to_contain_text("answered 500")
    # with the full token, the entry's retry and delete are offered
    expect(detail.locator("#detail-retry")).to_be_enabled()
    expect(detail.locator("#detail-delete")).to_be_enabled()
    expect(page.locator("#token-access")).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / "console-detail.png"), full_page=True)


def test_bulk_retry_of_two_entries_delivers_them(
    page: Any, local: LocalMode, receiver: Receiver, failed: dict[str, list[str]]
) -> None:
    expect = sync_api.expect
    # Given the console listing /hook-a's three entries
    sign_in(page, local)
    page.fill("#filter-url", receiver.url("/hook-a"))
    page.click("#filter-apply")
    rows = page.locator("#dlq-rows tr")
    expect(page.locator("#dlq-rows td.url")).to_have_text([receiver.url("/hook-a")] * 3)

    # When two entries are selected and retried (confirmed), with the receiver healthy again
    receiver.healthy = True
    retried = [rows.nth(i).get_attribute("data-dlq-id") for i in (1, 2)]
    rows.nth(1).locator("input.select-entry").check()
    rows.nth(2).locator("input.select-entry").check()
    expect(page.locator("#selection-count")).to_have_text("2 selected")
    questions: list[str] = []

    def answer(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    page.click("#retry-selected")

    # Then the console reports two new messages and the entries leave the DLQ
    expect(page.locator("#notice")).to_contain_text("Retried 2 DLQ entries as new messages")
    assert questions and questions[0].startswith("Retry 2 DLQ entries?")
    expect(rows).to_have_count(1)
    new_ids = page.get_by_test_id("retried").locator("button").all_inner_texts()
    assert len(new_ids) == 2
    assert not {e["dlqId"] for e in dlq(local)} & set(retried)

    # And both are delivered, which the lookup shows with their lifecycle
    wait_until(lambda: set(new_ids) <= set(receiver.delivered), timeout=20, what="the retried messages delivered")
    wait_until(lambda: all(status(local, i) == "succeeded" for i in new_ids), timeout=10, what="succeeded")
    page.get_by_test_id("retried").locator("button").first.click()
    expect(page.get_by_test_id("lookup-status")).to_have_text("succeeded")
    timeline = page.locator("#lookup-result").get_by_test_id("timeline")
    expect(timeline).to_contain_text("CREATED")
    expect(timeline).to_contain_text("DELIVERED")

    # And the chart counts the deliveries
    page.click("#activity-refresh")
    expect(page.get_by_test_id("total-delivered")).to_have_text("2")


def test_cancelling_a_bulk_delete_keeps_the_entries_and_confirming_removes_them(
    page: Any, local: LocalMode, receiver: Receiver, failed: dict[str, list[str]]
) -> None:
    expect = sync_api.expect
    # Given the console listing /hook-b's entry, selected
    sign_in(page, local)
    page.fill("#filter-url", receiver.url("/hook-b"))
    page.click("#filter-apply")
    rows = page.locator("#dlq-rows tr")
    expect(page.locator("#dlq-rows td.url")).to_have_text([receiver.url("/hook-b")])
    page.check("#select-page")

    # When the delete is declined, then confirmed
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#delete-selected")
    expect(rows).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-selected")

    # Then the entry is gone only after the confirmation
    expect(page.locator("#notice")).to_contain_text("Deleted 1 DLQ entry")
    expect(page.locator("#dlq-empty")).to_be_visible()
    assert dlq(local, url=receiver.url("/hook-b")) == []


def test_markup_in_bodies_and_headers_renders_as_text(page: Any, local: LocalMode, receiver: Receiver) -> None:
    expect = sync_api.expect
    # Given a dead-lettered message whose body, header, label and response are markup
    message_id = publish(
        local,
        receiver.url("/xss"),
        XSS_BODY,
        **{"Upstash-Forward-X-Note": "<img src=x onerror=window.pwned=5>", "Upstash-Label": "<b>label</b>"},
    )
    wait_until(lambda: dlq(local, url=receiver.url("/xss")), timeout=20, what="the DLQ entry")

    # When its entry is opened and its message looked up in the console
    sign_in(page, local)
    page.fill("#filter-url", receiver.url("/xss"))
    page.click("#filter-apply")
    expect(page.locator("#dlq-rows td.url")).to_have_text([receiver.url("/xss")])
    page.locator("#dlq-rows tr button.open").click()
    detail = page.locator("#detail")
    expect(detail.get_by_test_id("timeline")).to_contain_text("FAILED")
    page.fill("#lookup-id", message_id)
    page.click("#lookup-form button[type=submit]")
    expect(page.get_by_test_id("lookup-status")).to_have_text("failed_permanent")

    # Then every piece of markup is shown as the text it is, and none of it ran or became an element
    expect(detail.get_by_test_id("request-body")).to_have_text(XSS_BODY)
    expect(detail.get_by_test_id("response-body")).to_have_text(XSS_RESPONSE)
    expect(detail).to_contain_text("<img src=x onerror=window.pwned=5>")
    expect(detail).to_contain_text("<b>bold</b>")
    expect(page.locator("#dlq-rows")).to_contain_text("<b>label</b>")
    time.sleep(0.3)  # an injected onerror would have fired by now
    assert page.evaluate("window.pwned") is None
    assert page.locator("main img, main b, main script").count() == 0
    assert page.locator("script").count() == 1  # the console's own module
    assert json.loads(page.evaluate("JSON.stringify(document.querySelectorAll('[onerror]').length)")) == 0


def test_the_swagger_page_renders_under_its_csp_and_keeps_no_token(page: Any, local: LocalMode) -> None:
    # When the Swagger UI page is opened and a token is typed into its Authorize dialog
    page.goto(local.url + "/swagger")
    page.locator(".swagger-ui .info .title").wait_for()
    page.locator("button.authorize").first.click()
    page.locator(".modal-ux input").first.fill("a-token-for-this-page-only")
    page.locator(".modal-ux button.authorize").first.click()
    # Then the page ran its scripts (no CSP violation: the `page` fixture fails on one) and stored no token
    assert page.evaluate("() => JSON.stringify(window.localStorage)") == "{}"
    page.screenshot(path=str(ARTIFACTS / "swagger.png"))
