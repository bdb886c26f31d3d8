"""Managing URL groups: upsert and remove endpoints, list, get, delete."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from functions.shared.clock import Clock, now_ms
from functions.shared.errors import BadRequestError, NotFoundError, ServiceUnavailableError
from functions.topics.models import Endpoint, Topic, validate_name
from functions.topics.repository import TopicStorePort

_ATTEMPTS = 5  # optimistic concurrency: re-read and re-apply when another writer got there first


# QStash's limit on the endpoints of a URL group (pay as you go): a publish fans out to each in one request.
MAX_ENDPOINTS = 100


class EndpointInput(Protocol):
    """An endpoint as a request names it: a url (required to add one) and an optional name."""

    @property
    def url(self) -> str | None: ...

    @property
    def name(self) -> str | None: ...


class TopicService:
    def __init__(self, topics: TopicStorePort, validate_url: Callable[[str], object], clock: Clock = now_ms) -> None:
        self.topics = topics
        self.validate_url = validate_url
        self.clock = clock

    def upsert_endpoints(self, name: str, entries: Sequence[EndpointInput]) -> Topic:
        """Add endpoints to the URL group `name` (created when missing) or update those of the same url or name."""
        if any(not entry.url for entry in entries):
            raise BadRequestError("every endpoint needs a url")
        endpoints = [Endpoint(url=entry.url or "", name=entry.name) for entry in entries]
        validate_name(name)
        if not endpoints:
            raise BadRequestError("endpoints must not be empty")
        for endpoint in endpoints:
            self.validate_url(endpoint.url)
            if endpoint.name is not None:
                validate_name(endpoint.name, "endpoint")
        for _ in range(_ATTEMPTS):
            now = self.clock()
            stored = self.topics.get(name)
            base = stored or Topic(name=name, created_at_ms=now, updated_at_ms=now)
            updated = base.upserted(endpoints, now)
            if len(updated.endpoints) > MAX_ENDPOINTS:
                raise BadRequestError(f"a URL group has at most {MAX_ENDPOINTS} endpoints")
            if self.topics.save(updated, stored.version if stored else None):
                return updated
        raise ServiceUnavailableError(f"URL group {name} is being changed concurrently, try again")

    def remove_endpoints(self, name: str, endpoints: list[Endpoint]) -> None:
        """Remove endpoints (by url or name); a group left without endpoints is deleted."""
        for _ in range(_ATTEMPTS):
            stored = self.get(name)
            updated = stored.without(endpoints, self.clock())
            done = (
                self.topics.delete(name, stored.version)
                if not updated.endpoints
                else self.topics.save(updated, stored.version)
            )
            if done:
                return
        raise ServiceUnavailableError(f"URL group {name} is being changed concurrently, try again")

    def get(self, name: str) -> Topic:
        topic = self.topics.get(name)
        if topic is None:
            raise NotFoundError(f"URL group {name} not found")
        return topic

    def list(self) -> list[Topic]:
        return self.topics.list()

    def delete(self, name: str) -> None:
        """Deleting a group that does not exist succeeds too (the SDK's tests delete before creating)."""
        self.topics.delete(name)
