"""A read-only token does not see destination credentials: the values of credential-like headers are masked in
every answer that shows headers (messages, the log, the DLQ, schedules); a full-access token sees them."""

from __future__ import annotations

import json

from pytest_httpserver import HTTPServer

from functions.api.masking import MASKED, is_credential_header, masked

SECRETS = {
    "Upstash-Forward-Authorization": "Bearer dest-secret",
    "Upstash-Forward-X-Api-Key": "key-123",
    "Upstash-Forward-Cookie": "session=abc",
    "Upstash-Forward-X-Plain": "visible",
    "Upstash-Callback": "https://example.com/cb",
    "Upstash-Callback-Forward-X-Callback-Token": "cb-token",
}


def test_read_only_answers_mask_credentials(postbox, httpserver: HTTPServer):
    httpserver.expect_request("/fail").respond_with_data("no", status=500, headers={"Set-Cookie": "s=1"})
    read_only = postbox.backend.read_only_token
    # Given a message with credentials for its destination and its callback, a schedule, and a DLQ entry
    headers = {**SECRETS, "Upstash-Delay": "1h"}
    message_id = postbox.api("POST", "/v2/publish/https://example.com/hook", headers=headers)[1]["messageId"]
    schedule = {**SECRETS, "Upstash-Cron": "*/5 * * * *", "Upstash-Schedule-Id": "creds"}
    assert postbox.api("POST", "/v2/schedules/https://example.com/hook", headers=schedule)[0] == 200
    failing = {"Upstash-Forward-Authorization": "Bearer dlq-secret", "Upstash-Retries": "0"}
    postbox.api("POST", f"/v2/publish/{httpserver.url_for('/fail')}", headers=failing)
    postbox.drain()
    reads = [
        f"/v2/messages/{message_id}",
        "/v2/events",
        "/v2/logs",
        "/v2/dlq",
        "/v2/schedules",
        "/v2/schedules/creds",
    ]
    for path in reads:
        # When a read-only token reads / Then no credential shows, and the rest does
        status, answer, _ = postbox.api("GET", path, token=read_only)
        assert status == 200, (path, answer)
        text = json.dumps(answer)
        for secret in ("dest-secret", "key-123", "session=abc", "cb-token", "dlq-secret", "s=1"):
            assert secret not in text, (path, secret)
        assert MASKED in text, path
        # And a full-access token sees them as stored
        assert "dest-secret" in json.dumps(postbox.api("GET", path)[1]) or path == "/v2/dlq", path
    _, message, _ = postbox.api("GET", f"/v2/messages/{message_id}", token=read_only)
    assert message["header"]["X-Plain"] == ["visible"] and message["header"]["Authorization"] == [MASKED]
    assert message["callbackHeader"] == {"X-Callback-Token": [MASKED]}
    _, entry, _ = postbox.api("GET", "/v2/dlq", token=read_only)
    assert entry["messages"][0]["responseHeader"]["Set-Cookie"] == [MASKED]
    dlq_id = entry["messages"][0]["dlqId"]
    assert "dlq-secret" in json.dumps(postbox.api("GET", f"/v2/dlq/{dlq_id}")[1])
    assert "dlq-secret" not in json.dumps(postbox.api("GET", f"/v2/dlq/{dlq_id}", token=read_only)[1])


def test_which_headers_are_credentials():
    for name in ("Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "X-Auth-Token"):
        assert is_credential_header(name), name
    for name in ("Content-Type", "X-Request-Id", "Accept"):
        assert not is_credential_header(name), name
    assert masked([{"body": "Authorization", "header": {"Authorization": ["x"], "A": ["b"]}}]) == [
        {"body": "Authorization", "header": {"Authorization": [MASKED], "A": ["b"]}}
    ]
