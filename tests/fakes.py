"""In-memory stand-ins for the ports of the services (unit tests: no AWS, no sockets)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from functions.core import lifecycle
from functions.core.codec import request_attributes
from functions.core.filters import RecordFilter
from functions.core.lifecycle import Facts, MessageState, Transition
from functions.core.models import AttemptResult, DeliveryTask, DlqEntry, Message, MessageRequest, MessageStatus
from functions.stores.dlq import DlqPage
from functions.stores.messages import Created, NewMessage, StoredMessage
from functions.stores.moves import CancelOutcome, ClaimRefused
from functions.stores.slots import DispatchOutcome
from functions.topics.models import Topic

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


@dataclass
class FakeQueue:
    """Records (task, seconds until due) for each send."""

    sent: list[tuple[DeliveryTask, int]] = field(default_factory=list)
    fail: bool = False

    def send(self, task: DeliveryTask, due_ms: int, now_ms: int) -> None:
        if self.fail:
            raise ConnectionError("queue down")
        self.sent.append((task, max(0, math.ceil((due_ms - now_ms) / 1000))))

    def send_many(self, tasks: Sequence[tuple[DeliveryTask, int]], now_ms: int) -> list[DeliveryTask]:
        if self.fail:
            return [task for task, _ in tasks]
        for task, due_ms in tasks:
            self.send(task, due_ms, now_ms)
        return []


@dataclass
class FakeSender:
    """Answers each call with the next scripted result and records what it was sent."""

    results: list[AttemptResult]
    calls: list[dict[str, Any]] = field(default_factory=list)

    def send(self, **call: Any) -> AttemptResult:
        self.calls.append(call)
        return self.results.pop(0)


@dataclass
class FakeDlq:
    """DLQ entries in memory; an entry put in a transaction is kept once the transaction (the message's outcome)
    is written."""

    entries: dict[str, DlqEntry] = field(default_factory=dict)
    staged: dict[str, DlqEntry] = field(default_factory=dict)

    def put_in_transaction(self, entry: DlqEntry, expires_at_ms: int) -> TransactWriteItemTypeDef:
        self.staged[entry.dlq_id] = entry
        return {"Put": {"TableName": "dlq", "Item": {"pk": {"S": entry.dlq_id}}}}

    def commit(self, dlq_id: str) -> None:
        self.entries[dlq_id] = self.staged.pop(dlq_id)

    def delete_in_transaction(self, dlq_id: str, now_ms: int) -> TransactWriteItemTypeDef:
        return {"Delete": {"TableName": "dlq", "Key": {"pk": {"S": dlq_id}}}}

    def delete(self, dlq_id: str, now_ms: int) -> bool:
        return self.entries.pop(dlq_id, None) is not None

    def get(self, dlq_id: str, now_ms: int) -> DlqEntry | None:
        return self.entries.get(dlq_id)

    def get_many(self, dlq_ids: Sequence[str], where: RecordFilter, now_ms: int) -> list[DlqEntry]:
        return [self.entries[i] for i in dict.fromkeys(dlq_ids) if i in self.entries]

    def list(
        self, where: RecordFilter, *, count: int, now_ms: int, cursor: str | None = None, newest_first: bool = True
    ) -> DlqPage:
        ordered = sorted(self.entries.values(), key=lambda e: e.dlq_id, reverse=newest_first)
        return DlqPage(entries=ordered[:count], cursor=None)


@dataclass(frozen=True)
class FakeStored:
    """What `FakeMessages.load` answers: the status, and a request item naming the message."""

    status: MessageStatus | None
    request_item: Mapping[str, Any] | None


@dataclass
class FakeMessages:
    """The message stores in memory, guarded by the same lifecycle (one object plays all four stores; it knows no
    queues: no message waits for a queue's slot)."""

    dlq: FakeDlq
    requests: dict[str, MessageRequest] = field(default_factory=dict)
    statuses: dict[str, MessageStatus] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)

    dedup: dict[str, str] = field(default_factory=dict)

    @property
    def store(self) -> FakeMessages:
        return self

    @property
    def moves(self) -> FakeMessages:
        return self

    @property
    def pending(self) -> FakeMessages:
        return self

    @property
    def slots(self) -> FakeMessages:
        return self

    def create(
        self,
        new: NewMessage,
        *,
        dedup_until_ms: int | None = None,
        now_ms: int = 0,
        also: Sequence[TransactWriteItemTypeDef] = (),
    ) -> Created:
        request = new.request
        assert request.message_id not in self.statuses
        if request.dedup_id and dedup_until_ms is not None:
            if request.dedup_id in self.dedup:
                return Created(self.dedup[request.dedup_id], deduplicated=True)
            self.dedup[request.dedup_id] = request.message_id
        self.requests[request.message_id] = request
        self.statuses[request.message_id] = new.status
        return Created(request.message_id)

    def _store_follow_ups(self, follow_ups: Sequence[NewMessage]) -> tuple[str, ...]:
        for new in follow_ups:
            self.create(new)
        return tuple(new.request.message_id for new in follow_ups)

    def cancel(self, message_id: str, now_ms: int, visible_until_ms: int) -> CancelOutcome:
        status = self.statuses.get(message_id)
        if status is None:
            return CancelOutcome.NOT_FOUND
        facts = Facts(status.attempt, now_ms)
        if lifecycle.CANCEL.allows(status, facts):
            self.statuses[message_id] = status.model_copy(update={"state": MessageState.CANCELED})
            return CancelOutcome.CANCELED
        if status.state == MessageState.ACTIVE:
            self.statuses[message_id] = status.model_copy(update={"cancel_requested": True})
            return CancelOutcome.REQUESTED
        return CancelOutcome.FINISHED

    def finish_cancel(self, message_id: str, attempt: int, now_ms: int, visible_until_ms: int) -> bool:
        status = self.statuses[message_id]
        if not lifecycle.FINISH_CANCEL.allows(status, Facts(attempt, now_ms)):
            return False
        self.statuses[message_id] = status.model_copy(update={"state": MessageState.CANCELED})
        return True

    def find_by_dedup_id(self, dedup_id: str, now_ms: int) -> str | None:
        matches = sorted(i for i, r in self.requests.items() if r.dedup_id == dedup_id)
        return matches[-1] if matches else None

    def _matches(self, message_id: str, where: RecordFilter) -> bool:
        request = self.requests[message_id]
        return where.matches(request_attributes(request)) and where.in_range(request.created_at_ms)

    def pending_ids(self, where: RecordFilter, now_ms: int) -> Iterator[str]:
        return iter([i for i, s in self.statuses.items() if not s.state.is_final and self._matches(i, where)])

    def matching_ids(self, message_ids: Sequence[str], where: RecordFilter, now_ms: int) -> list[str]:
        return [i for i in dict.fromkeys(message_ids) if i not in self.statuses or self._matches(i, where)]

    def delete(self, message_id: str, dedup_id: str | None = None) -> None:
        if dedup_id is not None and self.dedup.get(dedup_id) == message_id:
            del self.dedup[dedup_id]
        self.deleted.append(message_id)
        self.requests.pop(message_id, None)
        self.statuses.pop(message_id, None)

    def get(self, message_id: str, now_ms: int) -> Message | None:
        if message_id not in self.statuses:
            return None
        return Message(request=self.requests[message_id], status=self.statuses[message_id])

    def get_status(self, message_id: str) -> MessageStatus | None:
        return self.statuses.get(message_id)

    def load(self, message_id: str) -> FakeStored:
        """What `MessageStore.load` answers: the status and the request item, as one read found them."""
        request_item = {"pk": message_id} if message_id in self.requests else None
        return FakeStored(status=self.statuses.get(message_id), request_item=request_item)

    def claim(
        self, message_id: str, attempt: int, now_ms: int, lease_until_ms: int, stored: StoredMessage | None = None
    ) -> Message | ClaimRefused:
        status = self.statuses.get(message_id)
        if not lifecycle.CLAIM.allows(status, Facts(attempt, now_ms)):
            return ClaimRefused(status)
        assert status is not None
        self.statuses[message_id] = status.model_copy(
            update={
                "state": MessageState.ACTIVE,
                "claim_until_ms": lease_until_ms,
                "updated_at_ms": now_ms,
                "attempts": status.attempts + 1,
            }
        )
        return Message(request=self.requests[message_id], status=self.statuses[message_id])

    def request_of(self, item: Mapping[str, Any]) -> MessageRequest:
        return self.requests[item["pk"]]

    def outcome(
        self,
        transition: Transition,
        request: MessageRequest,
        attempt: int,
        result: AttemptResult,
        *,
        now_ms: int,
        visible_until_ms: int | None = None,
        next_at_ms: int | None = None,
        dlq_id: str | None = None,
        dlq_put: TransactWriteItemTypeDef | None = None,
        follow_ups: Sequence[NewMessage] = (),
        lease_lost: bool = False,
    ) -> bool:
        message_id = request.message_id
        if lease_lost:
            transition = transition.after_lease_ran_out()
        status = self.statuses[message_id]
        if not transition.allows(status, Facts(attempt, now_ms)):
            return False
        update: dict[str, Any] = {"state": transition.target, "claim_until_ms": None}
        update |= {"last_response_status": result.status, "last_error": result.error}
        if transition.target == MessageState.RETRY:
            update |= {"attempt": attempt + 1, "next_delivery_at_ms": next_at_ms}
        if dlq_id is not None and dlq_put is not None:
            update["dlq_id"] = dlq_id
            self.dlq.commit(dlq_id)
        self.statuses[message_id] = status.model_copy(
            update={**update, "follow_ups": self._store_follow_ups(follow_ups)}
        )
        return True

    def overdue(self, cutoff_ms: int, now_ms: int) -> Iterator[tuple[str, int]]:
        for message_id, status in list(self.statuses.items()):
            late = status.state in lifecycle.WAITING and status.next_delivery_at_ms < cutoff_ms
            stuck = status.state == MessageState.ACTIVE and (status.claim_until_ms or 0) < cutoff_ms
            if late or stuck:
                yield message_id, status.attempt

    def track_waiting(self, now_ms: int) -> int:
        return 0  # every message is listed at once

    def count_pending(self, now_ms: int, **equals: Any) -> int:
        return sum(
            1
            for i, s in self.statuses.items()
            if not s.state.is_final
            and all(
                {**request_attributes(self.requests[i]), "state": s.state.value}.get(k) == v for k, v in equals.items()
            )
        )

    def waiting(self, queue_name: str, limit: int, now_ms: int) -> list[str]:
        return []

    def count_waiting(self, queue_name: str) -> int:
        return 0

    def dispatch(self, message_id: str, queue_name: str) -> DispatchOutcome:
        return DispatchOutcome.GONE


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now_ms: int = 1_800_000_000_000) -> None:
        self.now = now_ms

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1000)


@dataclass
class FakeTopics:
    """URL groups in memory, with the repository's optimistic versions."""

    topics: dict[str, Topic] = field(default_factory=dict)

    def get(self, name: str) -> Topic | None:
        return self.topics.get(name)

    def list(self) -> list[Topic]:
        return list(self.topics.values())

    def save(self, topic: Topic, expected_version: int | None) -> bool:
        stored = self.topics.get(name := topic.name)
        if (stored.version if stored else None) != expected_version:
            return False
        self.topics[name] = topic.model_copy(update={"version": (expected_version or 0) + 1})
        return True

    def delete(self, name: str, expected_version: int | None = None) -> bool:
        self.topics.pop(name, None)
        return True


@dataclass
class FakeDispatcher:
    """Records the queues it is asked to dispatch."""

    dispatched: list[str] = field(default_factory=list)

    def dispatch(self, queue_name: str) -> int:
        self.dispatched.append(queue_name)
        return 0
