"""Tokens: where they are read from, the secret's shape, constant-time comparison, read-only access, rate-limit key."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from functions.api.auth import (
    Access,
    ForbiddenError,
    TokenSet,
    authorize,
    caller_key,
    check_permission,
    permits,
    presented_token,
    token_set_from_secret,
)
from functions.shared.errors import UnauthorizedError

SECRET = {"token": "full-1", "tokens": ["full-2"], "readOnlyToken": "ro-1", "readOnlyTokens": ["ro-2", "ro-3"]}


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ({"authorization": "Bearer abc"}, {}, "abc"),
        ({"authorization": "bearer   abc  "}, {}, "abc"),
        ({}, {"qstash_token": "abc"}, "abc"),
        ({"authorization": "Bearer abc"}, {"qstash_token": "xyz"}, "abc"),  # the header wins
        ({"authorization": "Basic dXNlcjpwdw=="}, {"qstash_token": "xyz"}, "xyz"),  # a webhook sender's own header
        ({"authorization": "Bearer "}, {"qstash_token": "xyz"}, "xyz"),
        ({"authorization": "Basic abc"}, {}, None),
        ({"authorization": "Bearer"}, {}, None),
        ({}, {"qstash_token": ""}, None),
        ({}, {}, None),
    ],
)
def test_presented_token(headers, query, expected):
    assert presented_token(headers, query) == expected


def test_every_field_of_the_secret_grants_its_kind():
    tokens = token_set_from_secret(SECRET)
    assert [tokens.access(t) for t in ("full-1", "full-2")] == [Access.FULL] * 2
    assert [tokens.access(t) for t in ("ro-1", "ro-2", "ro-3")] == [Access.READ_ONLY] * 3
    assert tokens.access("full-3") is None
    assert tokens.access("") is None


def test_the_original_shape_still_works():
    tokens = token_set_from_secret({"token": "only"})
    assert tokens.access("only") is Access.FULL
    assert tokens.read_only == ()


def test_a_token_listed_as_both_kinds_is_read_only():
    tokens = token_set_from_secret({"token": "t", "readOnlyTokens": ["t"]})
    assert tokens.access("t") is Access.READ_ONLY


@pytest.mark.parametrize(
    ("secret", "granted"),
    [
        ({"token": "t", "tokens": "abc"}, {"t"}),  # a string is not read as a list of one-character tokens
        ({"token": "t", "tokens": ["abc", 7, None, ""]}, {"t", "abc"}),
        ({"token": "t", "readOnlyTokens": "abc"}, {"t"}),
        ({"token": "t", "readOnlyToken": ["abc"], "tokens": {"abc": True}}, {"t"}),
        ({"token": "t", "readOnlyToken": 5}, {"t"}),
        ({"token": 12345, "tokens": ["t"]}, {"t"}),
    ],
)
def test_fields_of_the_wrong_type_grant_nothing(secret, granted):
    tokens = token_set_from_secret(secret)
    probes = ("t", "abc", "a", "b", "c", "7", "5", "None", "True", "12345", "['abc']")
    assert {p for p in probes if tokens.access(p) is not None} == granted


def test_an_empty_secret_refuses_everything():
    tokens = token_set_from_secret({})
    with pytest.raises(UnauthorizedError):
        authorize({"authorization": "Bearer anything"}, {}, tokens)


def test_comparison_is_of_equal_length_digests_against_every_token(monkeypatch):
    # Given a set of tokens of very different lengths
    tokens = TokenSet.of(["a", "b" * 300], ["c" * 17])
    calls: list[tuple[int, int]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr("functions.api.auth.hmac.compare_digest", spy)

    # When tokens that match the first, the last, none (short and long) are checked
    for presented in ("a", "c" * 17, "x", "y" * 10_000):
        calls.clear()
        tokens.access(presented)

        # Then each is compared with all three, always 32 bytes against 32 bytes: no early exit, no length to time
        assert calls == [(32, 32)] * 3


def test_surrogates_and_odd_input_are_refused_not_crashed():
    tokens = TokenSet.of(["t"])
    for presented in ("\ud800", "t\x00", "é" * 5, "t" * 100_000):
        with pytest.raises(UnauthorizedError):
            authorize({}, {"qstash_token": presented}, tokens)


def test_authorize_returns_the_access():
    tokens = token_set_from_secret(SECRET)
    assert authorize({"authorization": "Bearer full-2"}, {}, tokens) is Access.FULL
    assert authorize({}, {"qstash_token": "ro-3"}, tokens) is Access.READ_ONLY
    assert authorize({}, {"qstash_token": "full-1"}, ["full-1"]) is Access.FULL  # plain strings: full access


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v2/messages/m1", True),
        ("get", "/v2/dlq", True),
        ("GET", "/v1/messages/m1", True),
        ("GET", "/v2/keys", False),
        ("GET", "/v2/keys/", False),
        ("GET", "/v2/keysmith", True),  # not the keys route (no such route either: 404)
        ("POST", "/v2/keys/rotate", False),
        ("POST", "/v2/publish/https://example.com", False),
        ("PATCH", "/v2/schedules/s/pause", False),
        ("DELETE", "/v2/messages/m1", False),
        ("PUT", "/v2/queues", False),
        ("HEAD", "/v2/messages/m1", False),  # not routed; anything but GET is refused
        ("OPTIONS", "/v2/messages/m1", False),
        ("", "/v2/messages/m1", False),
    ],
)
def test_read_only_may_only_read(method, path, allowed):
    assert permits(Access.READ_ONLY, method, path) is allowed
    assert permits(Access.FULL, method, path) is True
    if not allowed:
        with pytest.raises(ForbiddenError) as refused:
            check_permission(Access.READ_ONLY, method, path)
        assert refused.value.status_code == 403


def test_caller_key_is_the_hashed_token_of_either_kind_else_the_address():
    tokens = token_set_from_secret(SECRET)
    # The same key as before read-only tokens existed: a rate-limit window in progress keeps counting
    assert caller_key({"authorization": "Bearer full-1"}, {}, tokens, "1.2.3.4") == (
        "token#" + hashlib.sha256(b"full-1").hexdigest()[:32]
    )
    assert caller_key({}, {"qstash_token": "ro-2"}, tokens, "1.2.3.4") == (
        "token#" + hashlib.sha256(b"ro-2").hexdigest()[:32]
    )
    assert caller_key({"authorization": "Bearer nope"}, {}, tokens, "1.2.3.4") == "ip#1.2.3.4"
    assert caller_key({}, {}, tokens, "1.2.3.4") == "ip#1.2.3.4"


def test_local_mode_takes_its_read_only_token_from_the_environment(monkeypatch):
    from local_mode.runtime import LocalMode

    monkeypatch.setenv("POSTBOX_READ_ONLY_TOKEN", "my-read-only")
    assert LocalMode().read_only_token == "my-read-only"
    assert LocalMode(read_only_token="given").read_only_token == "given"
    monkeypatch.delenv("POSTBOX_READ_ONLY_TOKEN")
    first, second = LocalMode().read_only_token, LocalMode().read_only_token
    assert first != second and len(first) > 30  # random per start: no published default opens reads
