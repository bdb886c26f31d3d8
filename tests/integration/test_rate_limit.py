"""The API rate limit across Lambda instances: leases of a shared DynamoDB counter, never past the limit."""

from __future__ import annotations

from typing import Any

import boto3

from functions.limits.repository import CounterRepository
from functions.limits.service import RateLimiter

WINDOW_S = 60


class Clock:
    def __init__(self) -> None:
        self.ms = 1_700_000_000_000 - 1_700_000_000_000 % (WINDOW_S * 1000)

    def __call__(self) -> int:
        return self.ms


def counter_writes(postbox: Any) -> list[str]:
    """Counts the counter-table writes of every client made afterwards."""
    writes: list[str] = []
    session = boto3._get_default_session()  # noqa: SLF001 - the session the repository's client comes from
    session.events.register("before-call.dynamodb.UpdateItem", lambda **_: writes.append("UpdateItem"))
    return writes


def instance(postbox: Any, limit: int, clock: Clock, lease_size: int | None = None) -> RateLimiter:
    """One Lambda instance's limiter (each has its own leases; the counter is shared)."""
    return RateLimiter(CounterRepository(postbox.env["COUNTERS_TABLE"]), limit, WINDOW_S, clock, lease_size)


def test_two_instances_together_allow_exactly_the_limit(postbox):
    # Given two instances leasing 20 at a time from a limit of 50 per window
    clock = Clock()
    a, b = instance(postbox, 50, clock, lease_size=20), instance(postbox, 50, clock, lease_size=20)

    # When both serve a caller, interleaved, 40 requests each
    answers = [limiter.hit("caller") for _ in range(40) for limiter in (a, b)]

    # Then exactly 50 are allowed, never more, and the headers count down to 0
    assert sum(answer.allowed for answer in answers) == 50
    assert all(not answer.allowed for answer in answers[-20:])
    assert answers[-1].remaining == 0


def test_a_lease_costs_one_write_for_many_requests(postbox):
    # Given one instance leasing 20 at a time from a generous limit
    writes = counter_writes(postbox)
    limiter = instance(postbox, 6000, Clock())
    assert limiter.lease_size == 20

    # When it serves 100 requests
    answers = [limiter.hit("caller") for _ in range(100)]

    # Then all are allowed, at 5 counter writes, and the remaining count is exact for a single instance
    assert all(answer.allowed for answer in answers)
    assert len(writes) == 5
    assert answers[-1].remaining == 6000 - 100


def test_requests_over_the_limit_write_nothing_and_a_new_window_starts_afresh(postbox):
    # Given a limit of 3 that a caller has used up
    clock = Clock()
    writes = counter_writes(postbox)
    limiter = instance(postbox, 3, clock)
    assert [limiter.hit("caller").allowed for _ in range(3)] == [True, True, True]
    assert len(writes) == 3

    # When it keeps calling, then the window ends
    refused = [limiter.hit("caller") for _ in range(10)]
    clock.ms += WINDOW_S * 1000
    next_window = limiter.hit("caller")

    # Then the refusals cost no write, and the next window allows again
    assert not any(answer.allowed for answer in refused)
    assert len(writes) == 3 + 1  # the instance knows the window is spent: only the next window's lease
    assert next_window.allowed and next_window.remaining == 2


def test_callers_have_their_own_windows(postbox):
    limiter = instance(postbox, 1, Clock())
    assert limiter.hit("one").allowed
    assert limiter.hit("two").allowed
    assert not limiter.hit("one").allowed
