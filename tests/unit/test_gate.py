"""The gate before routing (functions/api/gate.py): the order of its checks, its answers and the headers it stamps."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.api.auth import TokenSet
from functions.api.gate import Admission, admit, stamp
from functions.limits.service import RateLimitStatus
from local_mode.frontdoor import build_event

FULL, READ_ONLY = "gate-full", "gate-read-only"
TOKENS = TokenSet.of([FULL], [READ_ONLY])


class FakeLimiter:
    """Counts the callers it is asked about; refuses every request once `limit` of one caller were counted."""

    def __init__(self, limit: int = 10, enabled: bool = True) -> None:
        self.limit = limit
        self.enabled = enabled
        self.hits: list[str] = []

    def hit(self, caller: str) -> RateLimitStatus:
        self.hits.append(caller)
        used = self.hits.count(caller)
        return RateLimitStatus(self.limit, max(0, self.limit - used), 1_900_000_000, used <= self.limit)


def event(method: str, target: str, token: str | None = None, **headers: str) -> dict[str, Any]:
    pairs = list(headers.items()) + ([("Authorization", f"Bearer {token}")] if token else [])
    built = build_event(method, target, pairs, b"", "198.51.100.7")
    built["requestContext"]["requestId"] = "req-1"
    return built


def body(admission: Admission) -> Any:
    assert admission.answer is not None
    return json.loads(admission.answer["body"])


def test_unreadable_tokens_refuse_every_request_503_before_the_rate_limit() -> None:
    # Given a limiter, and tokens that cannot be read
    limiter = FakeLimiter()

    # When any request comes, the OpenAPI document and the console too
    for method, target in [("GET", "/v2/messages/m"), ("GET", "/openapi.json"), ("GET", "/console")]:
        admission = admit(event(method, target, FULL), None, limiter)

        # Then it is a 503 with a JSON error, no access, nothing counted
        assert admission.answer is not None and admission.answer["statusCode"] == 503
        assert body(admission) == {"error": "the API tokens cannot be read; try again"}
        assert admission.access is None and admission.limit is None
    assert limiter.hits == []


def test_over_the_limit_is_429_before_the_token_with_qstash_headers_on_publish_routes_only() -> None:
    # Given a limit of one request
    limiter = FakeLimiter(limit=1)
    admit(event("GET", "/v2/queues", FULL), TOKENS, limiter)

    # When the same token calls again, a publish route and another
    publish = admit(event("POST", "/v2/publish/https://example.com", FULL), TOKENS, limiter)
    other = admit(event("GET", "/v2/queues", FULL), TOKENS, limiter)

    # Then both are 429, before any token check; only the publish route carries QStash's RateLimit-* headers
    for admission in (publish, other):
        assert admission.answer is not None and admission.answer["statusCode"] == 429
        assert admission.access is None and admission.limit is not None and not admission.limit.allowed
    assert publish.answer is not None and other.answer is not None
    assert publish.answer["headers"]["RateLimit-Remaining"] == "0"
    assert "RateLimit-Limit" not in other.answer["headers"]


def test_the_caller_is_its_valid_token_else_its_address() -> None:
    limiter = FakeLimiter()
    admit(event("GET", "/v2/queues", FULL), TOKENS, limiter)
    admit(event("GET", "/v2/queues", "not-a-token"), TOKENS, limiter)
    assert limiter.hits[0].startswith("token#") and limiter.hits[1] == "ip#198.51.100.7"


def test_a_disabled_limiter_counts_nothing_and_adds_no_header() -> None:
    limiter = FakeLimiter(enabled=False)
    admission = admit(event("GET", "/v2/queues", FULL), TOKENS, limiter)
    assert admission == Admission(None, admission.access) and limiter.hits == []


@pytest.mark.parametrize(("method", "path"), [("GET", "/console"), ("HEAD", "/console/"), ("GET", "/console/app.js")])
def test_the_console_is_routed_without_a_token(method: str, path: str) -> None:
    admission = admit(event(method, path, "not-a-token"), TOKENS, FakeLimiter())
    assert admission.answer is None and admission.access is None
    refused = admit(event("POST", path), TOKENS, FakeLimiter())
    assert refused.answer is not None and refused.answer["statusCode"] == 401


def test_the_openapi_document_is_routed_without_a_token() -> None:
    admission = admit(event("GET", "/openapi.json"), TOKENS, FakeLimiter())
    assert admission.answer is None and admission.access is None
    refused = admit(event("POST", "/openapi.json"), TOKENS, FakeLimiter())
    assert refused.answer is not None and refused.answer["statusCode"] == 401


@pytest.mark.parametrize("target", ["/v2/nowhere", "/v2/messages/m", "/v2/publish/not-a-url"])
def test_without_a_valid_token_401_whatever_the_path(target: str) -> None:
    for token in (None, "wrong"):
        admission = admit(event("POST", target, token), TOKENS, FakeLimiter())
        assert admission.answer is not None and admission.answer["statusCode"] == 401
        assert set(body(admission)) == {"error"} and admission.access is None


def test_v1_refusals_keep_the_v1_envelope() -> None:
    admission = admit(event("GET", "/v1/messages/m"), TOKENS, FakeLimiter())
    assert body(admission)["meta"]["request_id"] == "req-1" and body(admission)["error"]["message"]


@pytest.mark.parametrize(
    ("method", "target", "refused"),
    [
        ("GET", "/v2/messages/m", False),
        ("GET", "/v2/nowhere", False),  # an unknown read is routed: 404 from the resolver
        ("GET", "/v2/keys", True),
        ("POST", "/v2/keys/rotate", True),
        ("POST", "/v2/nowhere", True),
        ("DELETE", "/v2/queues/q", True),
    ],
)
def test_a_read_only_token_reads_only(method: str, target: str, refused: bool) -> None:
    admission = admit(event(method, target, READ_ONLY), TOKENS, FakeLimiter())
    assert admission.access is not None and admission.access.value == "read-only"
    if refused:
        assert admission.answer is not None and admission.answer["statusCode"] == 403
        assert "read-only" in body(admission)["error"]
    else:
        assert admission.answer is None


def test_stamp_adds_the_request_id_the_token_access_and_the_limit() -> None:
    # Given an admitted request of the full token, under the limit
    request = event("GET", "/v2/queues", FULL)
    admission = admit(request, TOKENS, FakeLimiter(limit=5))

    # When its answer is stamped
    answer = stamp({"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": ""}, request, admission)

    # Then it carries the request id, the token's access and the X-RateLimit-* headers
    assert answer["headers"] == {
        "Content-Type": "application/json",
        "X-Request-Id": "req-1",
        "Postbox-Token-Access": "full",
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "4",
        "X-RateLimit-Reset": "1900000000",
    }
