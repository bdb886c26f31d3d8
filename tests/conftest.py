"""Shared fixtures: fake AWS credentials for every test, destinations on 127.0.0.1 only."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "postbox",
}
for _name, _value in FAKE_AWS.items():  # before any boto3 client or Powertools object exists
    os.environ[_name] = _value
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)


@pytest.fixture
def threaded_httpserver() -> Iterator[HTTPServer]:
    """A receiver that serves requests concurrently (the default `httpserver` serves one at a time), for tests
    that measure how many deliveries are in flight at once."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """pytest-httpserver destinations listen on 127.0.0.1 (never `localhost`, which may resolve elsewhere)."""
    return ("127.0.0.1", 0)
