"""Publishing, looking up and cancelling messages; reading, deleting and replaying DLQ entries."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from functions.core.filters import RecordFilter
from functions.core.lifecycle import MessageState
from functions.core.models import DeliveryTask, DlqEntry, Message, MessageRequest, MessageStatus, lifetime_end_ms
from functions.flow.repository import FlowStorePort
from functions.messages.publish import PublishLimits, build_message, destination_from_path, is_group_name
from functions.queues.dispatcher import DispatcherPort
from functions.shared.clock import Clock, now_ms
from functions.shared.errors import BadRequestError, NotFoundError, ServiceUnavailableError
from functions.shared.ids import uuid7
from functions.shared.observability import logger
from functions.stores.delivery_queue import DeliveryQueue
from functions.stores.dlq import DlqPage
from functions.stores.messages import Created, NewMessage
from functions.stores.moves import CancelOutcome
from functions.stores.protocols import DlqPort, MessageStoresPort
from functions.topics.models import Topic, validate_name
from functions.topics.repository import TopicStorePort

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


@dataclass(frozen=True)
class PublishInput:
    path_tail: str
    raw_query: str
    headers: Mapping[str, str]
    body: bytes
    caller_ip: str | None


@dataclass(frozen=True)
class BatchItem:
    """One entry of a batch publish: a destination (a URL or a URL group), its headers (lower-case names), its
    body, and the FIFO queue to publish into, if any."""

    destination: str
    headers: Mapping[str, str]
    body: str | None = None
    queue: str | None = None


@dataclass(frozen=True)
class Published:
    message_id: str
    url: str
    deduplicated: bool = False


@dataclass(frozen=True)
class PublishOutcome:
    published: list[Published]
    to_group: bool  # a URL group's answer is a list, a URL's a single object


@dataclass(frozen=True)
class Prepared:
    """The validated messages of one publish: one for a URL, one per endpoint for a URL group."""

    requests: list[MessageRequest]
    to_group: bool


# The messages one request may publish (a batch's entries, a URL group's endpoints): each is a transaction of its
# own, and they must all be stored within the API's timeout.
MAX_MESSAGES_PER_REQUEST = 100


class MessageService:
    def __init__(
        self,
        messages: MessageStoresPort,
        dlq: DlqPort,
        queue: DeliveryQueue,
        limits: PublishLimits,
        retention_s: int,
        dedup_window_s: int = 600,
        clock: Clock = now_ms,
        topics: TopicStorePort | None = None,
        dispatcher: DispatcherPort | None = None,
        flows: FlowStorePort | None = None,
        ensure_queue: Callable[[str], object] | None = None,
    ) -> None:
        self.messages = messages
        self.dlq = dlq
        self.queue = queue
        self.topics = topics or _NoTopics()
        self.dispatcher = dispatcher
        self.flows = flows
        self.ensure_queue = ensure_queue  # creates a FIFO queue (parallelism 1) unless it exists
        self.limits = limits
        self.retention_s = retention_s
        self.dedup_window_s = dedup_window_s
        self.clock = clock

    # --- publishing -------------------------------------------------------------------------------

    def publish(self, publish: PublishInput) -> PublishOutcome:
        """Publish to a URL (one message) or to a URL group (one message per endpoint)."""
        destination = destination_from_path(publish.path_tail, publish.raw_query)
        return self.store(self.prepare(destination, publish.headers, publish.body, publish.caller_ip))

    def enqueue(self, queue_name: str, publish: PublishInput) -> PublishOutcome:
        """Publish into the FIFO queue `queue_name`, created when it does not exist; only once the message is
        valid: a rejected publish creates no queue."""
        destination = destination_from_path(publish.path_tail, publish.raw_query)
        prepared = self.prepare(destination, publish.headers, publish.body, publish.caller_ip)
        self._ensure_queue(queue_name)
        return self.store(prepared, queue_name=queue_name)

    def publish_batch(self, items: Sequence[BatchItem], caller_ip: str | None) -> list[PublishOutcome]:
        """Publish every item of a batch, each validated (and its queue's name) before any is stored and before any
        queue is created; all or nothing, as `store_many`."""
        prepared, queues = [], []
        for item in items:
            destination = destination_from_path(item.destination, "")
            prepared.append(self.prepare(destination, item.headers, (item.body or "").encode(), caller_ip))
            queues.append(validate_name(item.queue, "queue") if item.queue else None)
        for queue_name in dict.fromkeys(q for q in queues if q):  # each queue once, in the batch's order
            self._ensure_queue(queue_name)
        return self.store_many(list(zip(prepared, queues, strict=True)))

    def _ensure_queue(self, queue_name: str) -> None:
        if self.ensure_queue is None:
            raise ServiceUnavailableError("queues are not configured")
        self.ensure_queue(queue_name)

    def prepare(self, destination: str, headers: Mapping[str, str], body: bytes, caller_ip: str | None) -> Prepared:
        """Validate a publish without storing anything (a batch validates every entry before storing any)."""
        now = self.clock()

        def build(url: str) -> MessageRequest:
            return build_message(
                message_id=uuid7(now),
                destination=url,
                headers=headers,
                body=body,
                caller_ip=caller_ip,
                now_ms=now,
                limits=self.limits,
            )

        if not is_group_name(destination):
            return Prepared([build(destination)], to_group=False)
        topic = self.topics.get(destination)
        if topic is None or not topic.endpoints:
            raise BadRequestError(f"invalid destination {destination!r}: neither an http(s) URL nor a URL group")
        requests = []
        for endpoint in topic.endpoints:
            request = build(endpoint.url)
            update: dict[str, object] = {"topic_name": topic.name, "endpoint_name": endpoint.name}
            if request.dedup_id:  # dedup per endpoint: each fanned-out message is its own
                update["dedup_id"] = f"{request.dedup_id}/{endpoint.name or endpoint.url}"
            requests.append(request.model_copy(update=update))
        return Prepared(requests, to_group=True)

    def store(self, prepared: Prepared, queue_name: str | None = None) -> PublishOutcome:
        """Store the prepared messages; into a FIFO queue (they wait for its slots) when `queue_name` is given."""
        return self.store_many([(prepared, queue_name)])[0]

    def store_many(self, entries: Sequence[tuple[Prepared, str | None]]) -> list[PublishOutcome]:
        """Store the messages of one or many publishes (a batch, a URL group's fan-out), then send their delivery
        records together: SQS takes them 10 to a request. All or nothing: when any of it fails, every message
        this call stored is taken back (with its dedup key), so the client can send the request again."""
        if self.dispatcher is None and any(queue_name for _, queue_name in entries):
            raise ServiceUnavailableError("queues are not configured")
        total = sum(len(prepared.requests) for prepared, _ in entries)
        if total > MAX_MESSAGES_PER_REQUEST:
            raise BadRequestError(f"one request publishes at most {MAX_MESSAGES_PER_REQUEST} messages, not {total}")
        now = self.clock()
        outcomes, to_send, created_here = [], [], []
        try:
            for prepared, queue_name in entries:
                published = []
                for request in prepared.requests:
                    queued = request.model_copy(update={"queue_name": queue_name}) if queue_name else request
                    created = self._store(queued, now, dedup=True)
                    if not created.deduplicated:
                        created_here.append(queued)
                        if not queued.queue_name:  # a queued one waits for its queue's slot
                            to_send.append(queued)
                    published.append(Published(created.message_id, request.url, created.deduplicated))
                outcomes.append(PublishOutcome(published, prepared.to_group))
            self._enqueue(to_send, now)
        except Exception:
            logger.warning(
                "publish failed: its messages are taken back", message_ids=[r.message_id for r in created_here]
            )
            for request in created_here:  # a record already sent finds no message and is dropped
                self.messages.store.delete(request.message_id, request.dedup_id)
            raise
        if self.dispatcher is not None:
            for queue_name in dict.fromkeys(name for _, name in entries if name):
                self.dispatcher.dispatch(queue_name)  # sends the records of what its free slots allow
        return outcomes

    def _store(
        self, request: MessageRequest, now: int, *, dedup: bool, also: Sequence[TransactWriteItemTypeDef] = ()
    ) -> Created:
        status = MessageStatus(state=MessageState.CREATED, next_delivery_at_ms=request.not_before_ms, updated_at_ms=now)
        created = self.messages.store.create(
            NewMessage(request, status, lifetime_end_ms(request, self.retention_s)),
            dedup_until_ms=now + self.dedup_window_s * 1000 if dedup and request.dedup_id else None,
            now_ms=now,
            also=also,
        )
        if created.deduplicated:
            logger.info("duplicate publish", message_id=created.message_id, dedup_id=request.dedup_id)
        elif request.flow_control is not None and self.flows is not None:
            self.flows.record(request.flow_control)  # the key is listed with the limits it was last given
        return created

    def _enqueue(self, requests: Sequence[MessageRequest], now: int) -> None:
        """Send the first delivery record of each stored message; ServiceUnavailableError when any could not be."""
        tasks = [
            (DeliveryTask(message_id=request.message_id, attempt=0), request.not_before_ms) for request in requests
        ]
        try:
            failed = self.queue.send_many(tasks, now)
        except Exception:
            logger.exception("delivery queue unreachable", message_ids=[r.message_id for r in requests])
            failed = [task for task, _ in tasks]
        if failed:
            logger.warning("delivery records not sent", message_ids=[task.message_id for task in failed])
            raise ServiceUnavailableError("could not enqueue the message, try again")
        for request in requests:
            logger.info("message published", message_id=request.message_id, url=request.url)

    # --- messages -----------------------------------------------------------------------------------

    def get(self, id_or_key: str, *, finished_grace_s: int | None = None) -> Message:
        """A message by its id or by the dedup / idempotency key it was published with (the newest one).

        With `finished_grace_s`, a finished message is found only that long after it finished, as QStash
        removes delivered messages "shortly after" from GET /v2/messages.
        """
        now = self.clock()
        message = self.messages.store.get(id_or_key, now)
        if message is None:
            newest = self.messages.store.find_by_dedup_id(id_or_key, now)
            message = self.messages.store.get(newest, now) if newest else None
        if message is None or (
            finished_grace_s is not None
            and message.status.state.is_final
            and now - message.status.updated_at_ms > finished_grace_s * 1000
        ):
            raise NotFoundError(f"message {id_or_key} not found")
        return message

    def cancel(self, message_id: str) -> int:
        """Cancel one message: 1 when it will not be delivered (again), 0 when it had finished already."""
        outcome = self._cancel(message_id, self.clock())
        if outcome == CancelOutcome.NOT_FOUND:
            raise NotFoundError(f"message {message_id} not found")
        return 0 if outcome == CancelOutcome.FINISHED else 1

    def cancel_many(self, message_ids: Sequence[str] | None, where: RecordFilter, limit: int | None = None) -> int:
        """Cancel those of the given messages that match `where`, or (no ids) every pending message matching `where`
        (no filter: all of them); at most `limit`, oldest first. An empty id list cancels nothing."""
        now = self.clock()
        if message_ids is not None:
            ids: Iterable[str] = self.messages.pending.matching_ids(message_ids, where, now)
        else:
            ids = self.messages.pending.pending_ids(where, now)
        cancelled = 0
        for message_id in ids:
            if limit is not None and cancelled >= limit:
                break
            cancelled += self._cancel(message_id, now) in (CancelOutcome.CANCELED, CancelOutcome.REQUESTED)
        return cancelled

    def _cancel(self, message_id: str, now: int) -> CancelOutcome:
        outcome = self.messages.moves.cancel(message_id, now, now + self.retention_s * 1000)
        if outcome in (CancelOutcome.CANCELED, CancelOutcome.REQUESTED):
            logger.info("message cancelled", message_id=message_id, outcome=outcome.value)
        return outcome

    # --- DLQ ----------------------------------------------------------------------------------------

    def get_dlq(self, dlq_id: str) -> DlqEntry:
        entry = self.dlq.get(dlq_id, self.clock())
        if entry is None:
            raise NotFoundError(f"dlq message {dlq_id} not found")
        return entry

    def list_dlq(
        self, dlq_ids: Sequence[str] | None, where: RecordFilter, *, count: int, cursor: str | None, newest_first: bool
    ) -> DlqPage:
        """The given entries that match `where`, or a page of every entry matching it."""
        now = self.clock()
        if dlq_ids is None:
            return self.dlq.list(where, count=count, now_ms=now, cursor=cursor, newest_first=newest_first)
        entries: list[DlqEntry] = sorted(
            self.dlq.get_many(dlq_ids, where, now), key=lambda e: e.dlq_id, reverse=newest_first
        )
        return DlqPage(entries, None)

    def _dlq_selection(
        self, dlq_ids: Sequence[str] | None, where: RecordFilter, count: int, cursor: str | None, newest_first: bool
    ) -> tuple[list[str], str | None]:
        """The ids a bulk DLQ action acts on, and the cursor of the next page: the given entries that match `where`
        (an empty list: none), or a page of the entries matching it."""
        if dlq_ids is not None and where.is_empty:
            return list(dict.fromkeys(dlq_ids)), None
        page = self.list_dlq(dlq_ids, where, count=count, cursor=cursor, newest_first=newest_first)
        return [entry.dlq_id for entry in page.entries], page.cursor

    def delete_dlq(self, dlq_id: str) -> None:
        if not self.dlq.delete(dlq_id, self.clock()):
            raise NotFoundError(f"dlq message {dlq_id} not found")

    def delete_dlq_many(
        self,
        dlq_ids: Sequence[str] | None,
        where: RecordFilter,
        *,
        count: int,
        cursor: str | None,
        newest_first: bool = True,
    ) -> tuple[int, str | None]:
        """Delete the given entries that match `where`, or a page of the entries matching it; returns (deleted, the
        next page's cursor)."""
        ids, next_cursor = self._dlq_selection(dlq_ids, where, count, cursor, newest_first)
        now = self.clock()
        return sum(self.dlq.delete(dlq_id, now) for dlq_id in ids), next_cursor

    def retry_dlq(self, dlq_id: str) -> str:
        """Publish the dead-lettered message again (a new message, its replay count + 1) and remove the entry."""
        now = self.clock()
        entry = self.get_dlq(dlq_id)
        replay = entry.request.model_copy(
            update={
                "message_id": uuid7(now),
                "not_before_ms": now,
                "created_at_ms": now,
                "replay_count": entry.request.replay_count + 1,
            }
        )
        try:
            # Never swallowed by dedup: the replay writes no dedup key.
            self._store(replay, now, dedup=False, also=[self.dlq.delete_in_transaction(dlq_id, now)])
        except Exception as exc:
            if self.dlq.get(dlq_id, now) is None:  # retried or deleted concurrently
                raise NotFoundError(f"dlq message {dlq_id} not found") from exc
            raise
        if not replay.queue_name:  # a queued one waits for its queue's slot
            try:
                self._enqueue([replay], now)
            except ServiceUnavailableError:  # the replay is stored (its DLQ entry gone): the pending sweep sends it
                logger.warning("replay stored, its record is left to the sweep", message_id=replay.message_id)
        return replay.message_id

    def retry_dlq_many(
        self,
        dlq_ids: Sequence[str] | None,
        where: RecordFilter,
        *,
        count: int,
        cursor: str | None,
        newest_first: bool = True,
    ) -> tuple[list[str], str | None]:
        """Replay the given entries that match `where`, or a page of the entries matching it; returns (the new
        message ids, the next page's cursor)."""
        ids, next_cursor = self._dlq_selection(dlq_ids, where, count, cursor, newest_first)
        replayed = []
        for dlq_id in ids:
            try:
                replayed.append(self.retry_dlq(dlq_id))
            except NotFoundError:
                continue
        return replayed, next_cursor


class _NoTopics:
    """Stands in for the URL group store where none is configured: every group is unknown."""

    def get(self, name: str) -> Topic | None:
        return None
