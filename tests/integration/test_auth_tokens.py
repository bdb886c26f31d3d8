"""The auth secret through the API handler: its shapes, rotating tokens without downtime, read-only tokens, and a
secret that cannot be read. The secret is rewritten between requests (the fixture reads it uncached)."""

from __future__ import annotations

import json

import boto3
import pytest

from local_mode.backend import AUTH_SECRET
from tests.integration.conftest import TOKEN, Postbox

READ = ("GET", "/v2/queues")
WRITE = ("POST", "/v2/queues", json.dumps({"queueName": "q", "parallelism": 1}).encode())


def set_secret(value: object) -> None:
    raw = value if isinstance(value, str) else json.dumps(value)
    boto3.client("secretsmanager").put_secret_value(SecretId=AUTH_SECRET, SecretString=raw)


def read(postbox: Postbox, token: str) -> int:
    return postbox.api(*READ, token=token)[0]


def write(postbox: Postbox, token: str) -> int:
    method, path, body = WRITE
    return postbox.api(method, path, body=body, token=token)[0]


def test_local_mode_creates_a_read_only_token_next_to_the_token(postbox):
    # Given local mode's provisioning (the fixture's)
    secret = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=AUTH_SECRET)["SecretString"])
    read_only = postbox.backend.read_only_token

    # Then the secret holds the token and one read-only token, which reads but does not write
    assert secret == {"token": TOKEN, "readOnlyTokens": [read_only]}
    assert read_only and read_only != TOKEN
    assert (read(postbox, read_only), write(postbox, read_only)) == (200, 403)
    assert (read(postbox, TOKEN), write(postbox, TOKEN)) == (200, 200)


def test_the_original_shape_still_works(postbox):
    set_secret({"token": TOKEN})
    assert (read(postbox, TOKEN), write(postbox, TOKEN)) == (200, 200)
    assert read(postbox, postbox.backend.read_only_token) == 401


def test_rotation_without_downtime(postbox):
    # Given the current token, and a new one added next to it
    set_secret({"token": TOKEN, "tokens": ["next-token"]})

    # Then both work while clients move over
    assert [write(postbox, t) for t in (TOKEN, "next-token")] == [200, 200]

    # When the old one is dropped (the new one may move to `token`)
    set_secret({"token": "next-token"})

    # Then the old one is refused at once (the secret cache aside) and the new one keeps working
    assert (read(postbox, TOKEN), write(postbox, "next-token")) == (401, 200)


def test_read_only_tokens_rotate_the_same_way(postbox):
    set_secret({"token": TOKEN, "readOnlyToken": "ro-old", "readOnlyTokens": ["ro-new"]})
    assert [(read(postbox, t), write(postbox, t)) for t in ("ro-old", "ro-new")] == [(200, 403)] * 2
    set_secret({"token": TOKEN, "readOnlyTokens": ["ro-new"]})
    assert (read(postbox, "ro-old"), read(postbox, "ro-new")) == (401, 200)


def test_a_token_moved_to_read_only_loses_writes_even_if_left_in_tokens(postbox):
    set_secret({"token": TOKEN, "tokens": ["shared"], "readOnlyTokens": ["shared"]})
    assert (read(postbox, "shared"), write(postbox, "shared")) == (200, 403)


@pytest.mark.parametrize(
    "secret",
    [
        {"token": TOKEN, "tokens": "abc"},
        {"token": TOKEN, "tokens": ["abc", 1, None, {"x": 1}]},
        {"token": TOKEN, "readOnlyTokens": "abc", "readOnlyToken": ["abc"]},
    ],
)
def test_badly_typed_fields_grant_nothing_and_break_nothing(postbox, secret):
    assert write(postbox, TOKEN) == 200
    for guess in ("a", "b", "c", "1", "None"):
        status, body, _ = postbox.api(*READ, token=guess)
        assert (status, set(body)) == (401, {"error"})


def test_an_empty_secret_refuses_every_request_as_json(postbox):
    set_secret({})
    status, body, _ = postbox.api(*READ, token=TOKEN)
    assert (status, set(body)) == (401, {"error"})


@pytest.mark.parametrize("raw", ["not json", '["a list"]', '"a string"'])
def test_a_secret_that_cannot_be_read_answers_503_as_json(postbox, raw):
    # Given a secret that is no JSON object (an operator's mistake)
    set_secret(raw)

    # Then every request is refused with a JSON error, not a crash, and nothing is stored
    status, body, headers = postbox.api(*WRITE[:2], body=WRITE[2], token=TOKEN)
    assert (status, set(body)) == (503, {"error"})
    assert headers["X-Request-Id"]

    # And once it is fixed, requests go through again
    set_secret({"token": TOKEN})
    assert postbox.api(*READ, token=TOKEN)[:2] == (200, [])
