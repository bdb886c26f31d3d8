"""What the services use of the message-table stores, the DLQ and the queue records: the real stores and the
tests' in-memory fakes both satisfy these."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from functions.core.filters import RecordFilter
from functions.core.lifecycle import Transition
from functions.core.models import AttemptResult, DlqEntry, Message, MessageRequest, MessageStatus, Queue
from functions.stores.dlq import DlqPage
from functions.stores.messages import Created, NewMessage, StoredMessage
from functions.stores.moves import CancelOutcome, ClaimRefused
from functions.stores.slots import DispatchOutcome

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


class MessageStorePort(Protocol):
    """What the services use of `MessageStore`: storing and reading messages."""

    def create(
        self,
        new: NewMessage,
        *,
        dedup_until_ms: int | None = None,
        now_ms: int = 0,
        also: Sequence[TransactWriteItemTypeDef] = (),
    ) -> Created: ...

    def delete(self, message_id: str, dedup_id: str | None = None) -> None: ...

    def find_by_dedup_id(self, dedup_id: str, now_ms: int) -> str | None: ...

    def get(self, message_id: str, now_ms: int) -> Message | None: ...

    def get_status(self, message_id: str) -> MessageStatus | None: ...

    def load(self, message_id: str) -> StoredMessage: ...

    def request_of(self, item: Mapping[str, Any]) -> MessageRequest: ...


class MessageMovesPort(Protocol):
    """What the services use of `MessageMoves`: moving messages between states."""

    def cancel(self, message_id: str, now_ms: int, visible_until_ms: int) -> CancelOutcome: ...

    def claim(
        self, message_id: str, attempt: int, now_ms: int, lease_until_ms: int, stored: StoredMessage | None = None
    ) -> Message | ClaimRefused: ...

    def finish_cancel(self, message_id: str, attempt: int, now_ms: int, visible_until_ms: int) -> bool: ...

    def outcome(  # noqa: PLR0913 - an outcome's parts
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
    ) -> bool: ...


class PendingSetPort(Protocol):
    """What the services use of `PendingSet`: the unfinished messages."""

    def pending_ids(self, where: RecordFilter, now_ms: int) -> Iterator[str]: ...

    def matching_ids(self, message_ids: Sequence[str], where: RecordFilter, now_ms: int) -> list[str]: ...

    def overdue(self, cutoff_ms: int, now_ms: int) -> Iterator[tuple[str, int]]: ...

    def track_waiting(self, now_ms: int) -> int: ...

    def count_pending(self, now_ms: int, **equals: Any) -> int: ...


class QueueSlotsPort(Protocol):
    """What the services use of `QueueSlots`: the slots of FIFO queues."""

    def waiting(self, queue_name: str, limit: int, now_ms: int) -> list[str]: ...

    def count_waiting(self, queue_name: str) -> int: ...

    def dispatch(self, message_id: str, queue_name: str) -> DispatchOutcome: ...


class MessageStoresPort(Protocol):
    """The messages table's stores, by job (`MessageStores`)."""

    @property
    def store(self) -> MessageStorePort: ...

    @property
    def moves(self) -> MessageMovesPort: ...

    @property
    def pending(self) -> PendingSetPort: ...

    @property
    def slots(self) -> QueueSlotsPort: ...


class DlqPort(Protocol):
    """What the services use of `DlqRepository`."""

    def delete(self, dlq_id: str, now_ms: int) -> bool: ...

    def delete_in_transaction(self, dlq_id: str, now_ms: int) -> TransactWriteItemTypeDef: ...

    def get(self, dlq_id: str, now_ms: int) -> DlqEntry | None: ...

    def get_many(self, dlq_ids: Sequence[str], where: RecordFilter, now_ms: int) -> list[DlqEntry]: ...

    def list(
        self, where: RecordFilter, *, count: int, now_ms: int, cursor: str | None = None, newest_first: bool = True
    ) -> DlqPage: ...

    def put_in_transaction(self, entry: DlqEntry, expires_at_ms: int) -> TransactWriteItemTypeDef: ...


class QueueStorePort(Protocol):
    """What the services use of `QueueRepository`: the FIFO queues' records."""

    def delete(self, name: str) -> None: ...

    def get(self, name: str) -> Queue | None: ...

    def list(self) -> list[Queue]: ...

    def set_paused(self, name: str, paused: bool, now_ms: int) -> bool: ...

    def upsert(self, name: str, now_ms: int, *, parallelism: int | None, paused: bool | None) -> Queue: ...
