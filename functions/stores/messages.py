"""Storing and reading messages (the items: functions/stores/message_items.py).

Publishing writes the request item, then the state item: a crash between them leaves a request item that nothing
refers to, which its TTL removes. A transaction is used only where items must change together: a dedup key with its
message, and whatever a caller adds (a DLQ entry's removal on a retry, a queue's slot, the callback messages an
outcome creates).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from functions.core.codec import redaction_from_attribute, request_from_attributes
from functions.core.events import MAX_LOGGED_BODY_BYTES, request_event
from functions.core.lifecycle import MessageState
from functions.core.log import log_entry
from functions.core.models import Message, MessageRequest, MessageStatus
from functions.core.redaction import shown_body
from functions.shared.dynamo import (
    Conditions,
    DynamoRepository,
    cancellation_reasons,
    epoch_s,
    from_item,
    is_expired,
    query_all,
    to_item,
    values,
)
from functions.shared.ids import uuid7
from functions.stores.bodies import BodyStore, body_key
from functions.stores.message_items import (
    DEDUP,
    DEDUP_INDEX,
    REQUEST,
    REQUEST_DEDUP,
    TTL,
    hidden,
    key,
    request_item,
    request_key,
    state_item,
    state_key,
    status_of,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


class StoredMessage(Protocol):
    """A message as one read found it: its status, and its request item (None when missing)."""

    @property
    def status(self) -> MessageStatus | None: ...

    @property
    def request_item(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True)
class Stored:
    """Both items of a message as one read found them (either may be missing); the body is not fetched yet."""

    state_item: Mapping[str, Any] | None
    request_item: Mapping[str, Any] | None

    @cached_property
    def status(self) -> MessageStatus | None:
        return status_of(self.state_item) if self.state_item else None


@dataclass(frozen=True)
class Created:
    message_id: str
    deduplicated: bool = False


@dataclass(frozen=True)
class NewMessage:
    """A message to store: its request, its first status, and when its items expire."""

    request: MessageRequest
    status: MessageStatus
    expires_at_ms: int  # when it stops being shown


class MessageStore(DynamoRepository):
    def __init__(
        self,
        table_name: str,
        bodies: BodyStore,
        inline_body_bytes: int,
        log_retention_s: int,
        client: DynamoDBClient | None = None,
    ) -> None:
        super().__init__(table_name, client)
        self.bodies = bodies
        self.inline_body_bytes = inline_body_bytes
        self.log_retention_s = log_retention_s

    def new_message_items(self, new: NewMessage) -> list[TransactWriteItemTypeDef]:
        """The request item and the state item (with its CREATED entry) that store a new message, as transaction
        items (its body goes to S3 first when too large for an item)."""
        request = new.request
        if request.body_ref is None and len(request.body) > self.inline_body_bytes:
            ref = body_key(request.message_id)
            self.bodies.put(ref, request.body)
            request = request.model_copy(update={"body_ref": ref})
        now = new.status.updated_at_ms
        created = request_event(request, MessageState.CREATED, event_id=uuid7(now), time_ms=now)
        # Both items outlive the message as long as its log does: the log shows the request's body and headers.
        log_expires = max(new.expires_at_ms, now + self.log_retention_s * 1000)
        state = state_item(request, new.status, new.expires_at_ms, log_expires, log_entry(created))
        return [
            {"Put": {"TableName": self.table_name, "Item": request_item(request, log_expires)}},
            {"Put": {"TableName": self.table_name, "Item": state, "ConditionExpression": "attribute_not_exists(pk)"}},
        ]

    def create(
        self,
        new: NewMessage,
        *,
        dedup_until_ms: int | None = None,
        now_ms: int = 0,
        also: Sequence[TransactWriteItemTypeDef] = (),
    ) -> Created:
        """Store a new message: its request item, then its state item (which makes it exist); in one transaction
        with its dedup key (if any) and the `also` items when there are some.

        A dedup key still live (not expired) means a duplicate: nothing is stored, the first message's id returns.
        """
        items = self.new_message_items(new)
        dedup_id = new.request.dedup_id
        if dedup_id is None or dedup_until_ms is None:
            if not also:
                for item in items:
                    self.client.put_item(**item["Put"])
                return Created(new.request.message_id)
        else:
            items.insert(0, self._dedup_put(dedup_id, new.request.message_id, dedup_until_ms, now_ms))
        try:
            self.client.transact_write_items(TransactItems=[*items, *also])
        except ClientError as exc:
            reasons = cancellation_reasons(exc)
            if dedup_id is not None and dedup_until_ms is not None and reasons[:1] == ["ConditionalCheckFailed"]:
                existing = self._dedup_owner(dedup_id, now_ms)
                if existing is not None:
                    return Created(existing, deduplicated=True)
                return self.create(new, dedup_until_ms=dedup_until_ms, now_ms=now_ms, also=also)  # key just expired
            raise
        return Created(new.request.message_id)

    def _dedup_put(self, dedup_id: str, message_id: str, until_ms: int, now_ms: int) -> TransactWriteItemTypeDef:
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_item(
                    {"pk": f"dedup#{dedup_id}", "sk": DEDUP, "messageId": message_id, TTL: epoch_s(until_ms)}
                ),
                "ConditionExpression": "attribute_not_exists(pk) OR #ttl <= :now",
                "ExpressionAttributeNames": {"#ttl": TTL},
                "ExpressionAttributeValues": values({":now": epoch_s(now_ms)}),
            }
        }

    def _dedup_owner(self, dedup_id: str, now_ms: int) -> str | None:
        item = self.client.get_item(
            TableName=self.table_name, Key=key(f"dedup#{dedup_id}", DEDUP), ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        stored = from_item(item)
        return None if is_expired(stored, TTL, now_ms) else str(stored["messageId"])

    def delete(self, message_id: str, dedup_id: str | None = None) -> None:
        """Take back a message whose publish failed: its items (the state item holds its log) and its dedup key
        (while it is still the message's, so that the client's retry is not taken for a duplicate of nothing)."""
        self.client.delete_item(TableName=self.table_name, Key=state_key(message_id))
        self.client.delete_item(TableName=self.table_name, Key=request_key(message_id))
        if dedup_id is not None:
            self.conditional(
                self.client.delete_item,
                Key=key(f"dedup#{dedup_id}", DEDUP),
                ConditionExpression="messageId = :id",
                ExpressionAttributeValues=values({":id": message_id}),
            )

    def load(self, message_id: str) -> Stored:
        """The state and the request item of a message in one (strongly consistent) batch read."""
        items = {item["sk"]: item for item in self.batch_get([state_key(message_id), request_key(message_id)])}
        return Stored(state_item=items.get(message_id), request_item=items.get(REQUEST))

    def get(self, message_id: str, now_ms: int) -> Message | None:
        stored = self.load(message_id)
        request, state = stored.request_item, stored.state_item
        if request is None or state is None or hidden(state, now_ms) or is_expired(request, TTL, now_ms):
            return None
        return Message(request=self.request_of(request), status=status_of(state))

    def get_status(self, message_id: str) -> MessageStatus | None:
        item = self.get_state_item(message_id)
        return status_of(item) if item else None

    def get_state_item(self, message_id: str) -> dict[str, Any] | None:
        """The state item of a message (its log included), as stored."""
        item = self.client.get_item(TableName=self.table_name, Key=state_key(message_id), ConsistentRead=True)
        return from_item(item["Item"]) if "Item" in item else None

    def find_by_dedup_id(self, dedup_id: str, now_ms: int) -> str | None:
        """The newest message published with this dedup / idempotency key that is still shown (an index query)."""
        query = Conditions().query_arguments("dedupId = :dedupId", dedupId=dedup_id)
        arguments = {"TableName": self.table_name, "IndexName": DEDUP_INDEX, "ScanIndexForward": False, **query}
        for found in query_all(self.client, arguments):
            message_id = str(found["sk"])
            state = self.states([message_id]).get(message_id)
            if state is not None and not hidden(state, now_ms):
                return message_id
        return None

    def logged_bodies(self, message_ids: Iterable[str], now_ms: int) -> dict[str, bytes]:
        """The bodies the log shows (held in the item, at most MAX_LOGGED_BODY_BYTES) of these messages: one
        BatchGetItem per 100 messages, reading only the body."""
        keys = [request_key(message_id) for message_id in dict.fromkeys(message_ids)]
        found: dict[str, bytes] = {}
        for item in self.batch_get(keys, "pk, body, redact, #ttl", {"#ttl": TTL}):
            redact = redaction_from_attribute(item.get("redact"))
            body = shown_body(b"", redact) if redact and redact.body_sha256 else item.get("body")
            if body is not None and len(body) <= MAX_LOGGED_BODY_BYTES and not is_expired(item, TTL, now_ms):
                found[str(item["pk"])] = bytes(body)
        return found

    def get_request(self, message_id: str) -> MessageRequest | None:
        answer = self.client.get_item(TableName=self.table_name, Key=request_key(message_id), ConsistentRead=True)
        item = answer.get("Item")
        return self.request_of(from_item(item)) if item else None

    def request_of(self, item: Mapping[str, Any]) -> MessageRequest:
        """The request a request item (as `load` read it) holds, its claim-checked body fetched."""
        body = self.bodies.get(item["bodyRef"]) if item.get("bodyRef") else None
        return request_from_attributes(item["pk"], {**item, "dedupId": item.get(REQUEST_DEDUP)}, body)

    def states(self, message_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The state items of these messages that exist, by id (strongly consistent batch reads)."""
        return {str(item["sk"]): item for item in self.batch_get([state_key(i) for i in message_ids])}
