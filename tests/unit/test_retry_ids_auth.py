import uuid

import pytest

from functions.api.auth import authorize
from functions.delivery.retry import default_backoff_seconds, next_attempt_at_ms
from functions.shared.errors import UnauthorizedError
from functions.shared.ids import uuid7


@pytest.mark.parametrize(("retry", "seconds"), [(1, 12.18), (2, 148.41), (3, 1808.04), (4, 22026.47), (5, 86400)])
def test_default_backoff_is_qstash_formula(retry, seconds):
    assert default_backoff_seconds(retry) == pytest.approx(seconds, rel=1e-3)


def test_backoff_is_capped_at_a_day():
    assert default_backoff_seconds(50) == 86400
    assert next_attempt_at_ms(1000, 1) == 1000 + 12182


def test_uuid7_layout_and_order():
    # Given many ids made in the same millisecond / Then they are valid v7 UUIDs in strictly increasing order
    ids = [uuid7(1_800_000_000_000) for _ in range(5000)]
    parsed = [uuid.UUID(i) for i in ids]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in parsed)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert parsed[0].int >> 80 == 1_800_000_000_000
    assert uuid7(1_800_000_000_001) > ids[0]


def test_auth_accepts_bearer_and_query_token():
    authorize({"authorization": "Bearer t1"}, {}, ["t0", "t1"])
    authorize({}, {"qstash_token": "t0"}, ["t0"])


@pytest.mark.parametrize(
    ("headers", "query"),
    [({}, {}), ({"authorization": "Bearer nope"}, {}), ({"authorization": "Basic t0"}, {}), ({}, {"qstash_token": ""})],
)
def test_auth_refuses_anything_else(headers, query):
    with pytest.raises(UnauthorizedError):
        authorize(headers, query, ["t0"])
