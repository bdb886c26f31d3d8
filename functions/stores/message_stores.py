"""The messages table's stores, by job, built together on one table and client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from functions.stores.bodies import BodyStore
from functions.stores.messages import MessageStore
from functions.stores.moves import MessageMoves
from functions.stores.pending import PendingSet
from functions.stores.queues import QueueRepository
from functions.stores.slots import QueueSlots

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class MessageStores:
    store: MessageStore  # storing and reading messages
    moves: MessageMoves  # moving them between states
    pending: PendingSet  # the unfinished ones
    slots: QueueSlots  # queue slots

    @classmethod
    def build(  # noqa: PLR0913 - the table's settings
        cls,
        table_name: str,
        bodies: BodyStore,
        inline_body_bytes: int,
        log_retention_s: int,
        queues: QueueRepository,
        client: DynamoDBClient | None = None,
    ) -> MessageStores:
        store = MessageStore(table_name, bodies, inline_body_bytes, log_retention_s, client)
        return cls(store, MessageMoves(store, queues), PendingSet(store), QueueSlots(store, queues))
