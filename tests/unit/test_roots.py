"""The functions' composition roots: each service built on first use, once, on the root's one set of stores."""

from __future__ import annotations

import pytest

from functions.api.root import ApiRoot, api_root
from functions.shared.config import Settings, get_settings
from functions.worker.root import WorkerRoot, worker_root
from local_mode.backend import function_env
from local_mode.runtime import reset_process_caches

ENV = {**function_env(None), "DELIVERY_QUEUE_URL": "http://127.0.0.1:1/queue"}
SETTINGS = Settings.model_validate(ENV)


def test_a_request_builds_only_the_services_it_uses() -> None:
    # Given a fresh API root
    root = ApiRoot(SETTINGS)
    # When the queue service is used
    assert root.queues is root.queues
    # Then the publishing and schedule services are not built
    built = set(vars(root))
    assert "queues" in built and not built & {"messages", "schedules", "topics", "events", "flows"}


def test_the_api_services_share_the_roots_stores() -> None:
    root = ApiRoot(SETTINGS)
    stores = root.stores
    assert root.messages.messages is root.queues.messages is stores.messages
    assert root.messages.dispatcher is root.queues.dispatcher is stores.dispatcher
    assert root.messages.topics is root.topics.topics is stores.topics
    assert root.messages.flows is root.flows.flows is stores.flows
    assert root.flows.pending is stores.messages.pending
    assert root.schedules.publisher is root.messages and root.schedules.messages is stores.messages.store
    assert root.rate_limiter.counters is stores.counters and root.events.events is stores.events


def test_the_worker_delivers_and_fires_schedules_on_one_set_of_stores() -> None:
    root = WorkerRoot(SETTINGS)
    delivery = root.delivery
    assert "schedules" not in vars(root)  # a delivery builds no publishing graph
    assert delivery is root.delivery and delivery.messages is root.stores.messages
    assert delivery.dispatcher is root.stores.dispatcher and delivery.queue is root.stores.delivery_queue
    assert root.schedules.publisher.messages is delivery.messages


def test_local_mode_drops_the_roots_when_the_environment_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given roots built from one environment
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    reset_process_caches()
    api, worker = api_root(), worker_root()
    assert api_root() is api and worker_root() is worker
    # When the environment changes and the caches are reset
    monkeypatch.setenv("MAX_QUEUE_PARALLELISM", "7")
    reset_process_caches()
    # Then new roots are built from the new settings
    assert api_root() is not api and worker_root() is not worker
    assert api_root().settings is get_settings() and api_root().queues.max_parallelism == 7
    monkeypatch.undo()
    reset_process_caches()
