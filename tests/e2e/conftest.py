"""End-to-end: local mode (moto server + HTTP front door + worker loop) started once per module."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from qstash.message import PublishResponse, PublishUrlGroupResponse

from local_mode.runtime import LocalMode

T = TypeVar("T")


def wait_until(probe: Callable[[], T | None], timeout: float = 30, interval: float = 0.2, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def one_url(answer: PublishResponse | list[PublishUrlGroupResponse]) -> PublishResponse:
    """The SDK's answer to a publish to one URL (its type also covers a URL group's answer, a list)."""
    assert isinstance(answer, PublishResponse), answer
    return answer


@pytest.fixture(scope="module")
def local() -> Iterator[LocalMode]:
    mode = LocalMode(port=0, moto_port=0).start()
    try:
        yield mode
    finally:
        mode.stop()


def message_status(message_id: str) -> Any:
    """The stored state of a message (read from the backend, as an operator would with the AWS CLI)."""
    from functions.composition.stores import Stores
    from functions.shared.config import get_settings

    messages = Stores(get_settings()).messages.store
    message = messages.get(message_id, 0)
    return message.status if message else None
