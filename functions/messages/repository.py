"""Data access for the messages table: one `request` item and one `state` item per message.

Every state change is a conditional write: two workers can never both move the same message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from functions.messages.codec import request_attributes, request_from_attributes
from functions.messages.models import AttemptResult, Message, MessageRequest, MessageState, MessageStatus
from functions.shared.dynamo import (
    DynamoRepository,
    cancellation_reasons,
    from_item,
    is_condition_failure,
    is_expired,
    to_item,
    values,
)
from functions.shared.resources import MESSAGES_TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

REQUEST = "request"
STATE = "state"
TTL = MESSAGES_TABLE.ttl_attribute or "expiresAt"
_NOT_BEFORE_SLACK_MS = 1000  # SQS delays are whole seconds and not exact: accept a record up to 1 s early


@dataclass(frozen=True)
class ClaimRefused:
    """Why a claim did not succeed: the message's current status, or None when it does not exist."""

    status: MessageStatus | None


class MessageRepository(DynamoRepository):
    # --- writes ---------------------------------------------------------------------------------

    def create(self, request: MessageRequest, status: MessageStatus, expires_at_s: int) -> None:
        """Store a new message. The request item goes first: a state item never exists without it."""
        self.client.put_item(TableName=self.table_name, Item=_request_item(request, expires_at_s))
        self.client.put_item(
            TableName=self.table_name,
            Item=_state_item(request.message_id, status, expires_at_s),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def delete(self, message_id: str) -> None:
        """Remove a message that was never enqueued (publish could not reach the queue)."""
        for sk in (STATE, REQUEST):
            self.client.delete_item(TableName=self.table_name, Key=_key(message_id, sk))

    def claim(self, message_id: str, attempt: int, now_ms: int, lease_until_ms: int) -> Message | ClaimRefused:
        """CREATED/RETRY (due) -> ACTIVE, or take over an ACTIVE claim whose lease ran out."""
        try:
            answer = self.client.update_item(
                TableName=self.table_name,
                Key=_key(message_id, STATE),
                UpdateExpression="SET #state = :active, claimUntil = :lease, updatedAt = :now",
                ConditionExpression=(
                    "attribute_exists(pk) AND attempt = :attempt AND ("
                    "(#state IN (:created, :retry) AND nextDeliveryAt <= :due) "
                    "OR (#state = :active AND claimUntil < :now))"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=values(
                    {
                        ":active": MessageState.ACTIVE.value,
                        ":created": MessageState.CREATED.value,
                        ":retry": MessageState.RETRY.value,
                        ":attempt": attempt,
                        ":lease": lease_until_ms,
                        ":now": now_ms,
                        ":due": now_ms + _NOT_BEFORE_SLACK_MS,
                    }
                ),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            old: Mapping[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
            return ClaimRefused(_status(from_item(old)) if old else None)
        status = _status(from_item(answer["Attributes"]))
        request = self.get_request(message_id)
        if request is None:  # the request item expired under a live state item: nothing left to send
            return ClaimRefused(None)
        return Message(request=request, status=status)

    def mark_delivered(
        self, message_id: str, attempt: int, result: AttemptResult, *, now_ms: int, expires_at_s: int
    ) -> bool:
        return self._finish_attempt(
            message_id,
            attempt,
            {
                "#state": MessageState.DELIVERED.value,
                "updatedAt": now_ms,
                TTL: expires_at_s,
                **_result_fields(result),
            },
        )

    def mark_retry(self, message_id: str, attempt: int, result: AttemptResult, *, now_ms: int, next_at_ms: int) -> bool:
        return self._finish_attempt(
            message_id,
            attempt,
            {
                "#state": MessageState.RETRY.value,
                "attempt": attempt + 1,
                "nextDeliveryAt": next_at_ms,
                "updatedAt": now_ms,
                **_result_fields(result),
            },
        )

    def mark_failed(
        self,
        *,
        message_id: str,
        attempt: int,
        result: AttemptResult,
        now_ms: int,
        expires_at_s: int,
        dlq_id: str,
        dlq_put: TransactWriteItemTypeDef,
    ) -> bool:
        """ACTIVE -> FAILED and the DLQ item, in one transaction: a failed message always has its DLQ entry."""
        update = self._finish_update(
            message_id,
            attempt,
            {
                "#state": MessageState.FAILED.value,
                "updatedAt": now_ms,
                "dlqId": dlq_id,
                TTL: expires_at_s,
                **_result_fields(result),
            },
        )
        try:
            self.client.transact_write_items(TransactItems=[{"Update": update}, dlq_put])  # type: ignore[typeddict-item]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException" and (
                "ConditionalCheckFailed" in cancellation_reasons(exc)
            ):
                return False
            raise
        return True

    def _finish_update(self, message_id: str, attempt: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        names = {"#state": "state"}
        sets, removes, vals = [], ["claimUntil"], {":active": MessageState.ACTIVE.value, ":attempt": attempt}
        for i, (name, value) in enumerate(fields.items()):
            if value is None:
                removes.append(name)
                continue
            vals[f":v{i}"] = value
            sets.append(f"{name} = :v{i}")
        return {
            "TableName": self.table_name,
            "Key": _key(message_id, STATE),
            "UpdateExpression": f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
            "ConditionExpression": "#state = :active AND attempt = :attempt",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values(vals),
        }

    def _finish_attempt(self, message_id: str, attempt: int, fields: Mapping[str, Any]) -> bool:
        """Conditional ACTIVE -> next state for the given attempt; False when someone else moved it."""
        try:
            self.client.update_item(**self._finish_update(message_id, attempt, fields))
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    # --- reads ----------------------------------------------------------------------------------

    def get(self, message_id: str, now_s: int) -> Message | None:
        answer = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=values({":pk": message_id}),
            ConsistentRead=True,
        )
        items = {item["sk"]: item for item in map(from_item, answer.get("Items", []))}
        request, state = items.get(REQUEST), items.get(STATE)
        if request is None or state is None or is_expired(state, TTL, now_s) or is_expired(request, TTL, now_s):
            return None
        return Message(request=_request(request), status=_status(state))

    def get_request(self, message_id: str) -> MessageRequest | None:
        answer = self.client.get_item(TableName=self.table_name, Key=_key(message_id, REQUEST), ConsistentRead=True)
        item = answer.get("Item")
        return _request(from_item(item)) if item else None


def _key(message_id: str, sk: str) -> dict[str, Any]:
    return to_item({"pk": message_id, "sk": sk})


def _result_fields(result: AttemptResult) -> dict[str, Any]:
    return {"lastStatus": result.status, "lastError": result.error, "lastLatencyMs": result.latency_ms}


def _request_item(request: MessageRequest, expires_at_s: int) -> dict[str, Any]:
    return to_item({"pk": request.message_id, "sk": REQUEST, **request_attributes(request), TTL: expires_at_s})


def _state_item(message_id: str, status: MessageStatus, expires_at_s: int) -> dict[str, Any]:
    return to_item(
        {
            "pk": message_id,
            "sk": STATE,
            "state": status.state.value,
            "attempt": status.attempt,
            "nextDeliveryAt": status.next_delivery_at_ms,
            "updatedAt": status.updated_at_ms,
            TTL: expires_at_s,
        }
    )


def _request(item: Mapping[str, Any]) -> MessageRequest:
    return request_from_attributes(item["pk"], item)


def _status(item: Mapping[str, Any]) -> MessageStatus:
    def optional_int(name: str) -> int | None:
        return int(item[name]) if item.get(name) is not None else None

    return MessageStatus(
        state=MessageState(item["state"]),
        attempt=int(item["attempt"]),
        next_delivery_at_ms=int(item["nextDeliveryAt"]),
        updated_at_ms=int(item["updatedAt"]),
        claim_until_ms=optional_int("claimUntil"),
        last_response_status=optional_int("lastStatus"),
        last_error=item.get("lastError"),
        last_latency_ms=optional_int("lastLatencyMs"),
        dlq_id=item.get("dlqId"),
    )
