"""Data access for the events table: the log of every state change, per message and per UTC day."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from functions.events.models import MessageEvent
from functions.messages.codec import header_map
from functions.messages.filters import RecordFilter
from functions.messages.models import MessageState
from functions.shared.dynamo import Conditions, DynamoRepository, query_all, to_item
from functions.shared.errors import BadRequestError
from functions.shared.ids import is_uuid7, uuid7_bound
from functions.shared.paging import decode_cursor, encode_cursor
from functions.shared.resources import EVENTS_TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

TTL = EVENTS_TABLE.ttl_attribute or "expiresAt"
BY_TIME = EVENTS_TABLE.indexes[0].name
_DAY_MS = 86_400_000
# How many events a page may read beyond the `count` it answers (a filter that matches few reads more per match).
MAX_EXAMINED_PER_PAGE = 5000


@dataclass(frozen=True)
class EventPage:
    events: list[MessageEvent]
    cursor: str | None  # None on the last page


def day_of(unix_ms: int) -> str:
    return datetime.fromtimestamp(unix_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def time_of(event_id: str) -> int:
    """The unix ms a UUIDv7 event id was made in."""
    return int(event_id.replace("-", "")[:12], 16)


class EventRepository(DynamoRepository):
    def __init__(self, table_name: str, retention_s: int, client: DynamoDBClient | None = None) -> None:
        super().__init__(table_name, client)
        self.retention_s = retention_s

    def put_in_transaction(self, event: MessageEvent) -> TransactWriteItemTypeDef:
        """The transaction item that appends `event` (the state change it records goes in the same transaction)."""
        return {"Put": {"TableName": self.table_name, "Item": _item(event, event.time_ms // 1000 + self.retention_s)}}

    def for_message(self, message_id: str, now_s: int) -> list[MessageEvent]:
        """Every event of a message, oldest first."""
        query = Conditions().not_expired(TTL, now_s).query_arguments("messageId = :messageId", messageId=message_id)
        return [_event(item) for item in query_all(self.client, {"TableName": self.table_name, **query})]

    def delete_for_message(self, message_id: str) -> None:
        """Remove the events of a message that is taken back (its publish failed)."""
        query = Conditions().query_arguments("messageId = :messageId", messageId=message_id)
        for item in query_all(self.client, {"TableName": self.table_name, **query}):
            key = {"messageId": item["messageId"], "eventId": item["eventId"]}
            self.client.delete_item(TableName=self.table_name, Key=to_item(key))

    def list(
        self, where: RecordFilter, *, count: int, now_ms: int, cursor: str | None = None, newest_first: bool = True
    ) -> EventPage:
        """A page of at most `count` events matching `where`, newest (or oldest) first: queries by message id,
        or of the day buckets of the `byTime` index, within the retention window; never a scan.

        A page reads at most `count` + MAX_EXAMINED_PER_PAGE events, whatever the filter and the cursor: when a
        filter matches few of them, the page holds fewer than `count` and its cursor goes on from the last one read.
        """
        after = _cursor_event_id(cursor) if cursor else None
        lowest = uuid7_bound(max(where.from_ms or 0, now_ms - self.retention_s * 1000 - _DAY_MS), upper=False)
        # Nothing is logged ahead of now (a day allows for clock skew): a later `toDate` would only add day buckets
        highest = uuid7_bound(
            min(where.to_ms, now_ms + _DAY_MS) if where.to_ms is not None else now_ms + _DAY_MS, upper=True
        )
        if after is not None:
            lowest, highest = (lowest, min(highest, after)) if newest_first else (max(lowest, after), highest)
        if lowest > highest or where.matches_nothing:  # (DynamoDB refuses a BETWEEN whose bounds are reversed)
            return EventPage([], None)
        found: list[MessageEvent] = []
        examined, last_read = 0, None
        for item in self._scan(where, lowest, highest, newest_first, now_ms // 1000):
            if item["eventId"] == after:
                continue
            if examined >= count + MAX_EXAMINED_PER_PAGE:  # the page's budget is spent: go on from the last one read
                return EventPage(found, encode_cursor({"eventId": last_read}) if last_read else None)
            examined, last_read = examined + 1, str(item["eventId"])
            if where.matches(item):
                found.append(_event(item))
                if len(found) > count:  # one more than asked tells whether another page exists
                    break
        more = len(found) > count
        found = found[:count]
        return EventPage(found, encode_cursor({"eventId": found[-1].event_id}) if more else None)

    def _scan(
        self, where: RecordFilter, lowest: str, highest: str, newest_first: bool, now_s: int
    ) -> Iterator[dict[str, Any]]:
        """The events between `lowest` and `highest` (of `where`'s messages, when it names some), in order; the
        caller matches the rest of `where`."""
        conditions = Conditions().not_expired(TTL, now_s)
        if where.message_ids is not None:  # a few events per message: query each, merge in order
            items = [
                item
                for message_id in where.message_ids
                for item in query_all(
                    self.client,
                    {
                        "TableName": self.table_name,
                        **conditions.query_arguments(
                            "messageId = :messageId AND eventId BETWEEN :lowest AND :highest",
                            messageId=message_id,
                            lowest=lowest,
                            highest=highest,
                        ),
                    },
                )
            ]
            yield from sorted(items, key=lambda item: str(item["eventId"]), reverse=newest_first)
            return
        for day in _days(time_of(lowest), time_of(highest), newest_first):
            query = {
                "TableName": self.table_name,
                "IndexName": BY_TIME,
                "ScanIndexForward": not newest_first,
                **conditions.query_arguments(
                    "#day = :day AND eventId BETWEEN :lowest AND :highest", day=day, lowest=lowest, highest=highest
                ),
            }
            query["ExpressionAttributeNames"] = {**query.get("ExpressionAttributeNames", {}), "#day": "day"}
            yield from query_all(self.client, query)


def _cursor_event_id(cursor: str) -> str:
    """The event a page's cursor goes on from: 400 for anything but a cursor Postbox could have made."""
    event_id = decode_cursor(cursor, {"eventId"})["eventId"]
    if not is_uuid7(event_id):
        raise BadRequestError("invalid cursor")
    return str(event_id)


def _days(lowest_ms: int, highest_ms: int, newest_first: bool) -> list[str]:
    start = datetime.fromtimestamp(lowest_ms / 1000, tz=UTC).date()
    end = datetime.fromtimestamp(highest_ms / 1000, tz=UTC).date()
    days = [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]
    return list(reversed(days)) if newest_first else days


def _item(event: MessageEvent, expires_at_s: int) -> dict[str, Any]:
    return to_item(
        {
            "messageId": event.message_id,
            "eventId": event.event_id,
            "day": day_of(event.time_ms),
            "time": event.time_ms,
            "state": event.state.value,
            "url": event.url,
            "method": event.method,
            "header": event.header,
            "body": event.body,
            "labels": list(event.labels) or None,
            "callerIp": event.caller_ip,
            "flowControlKey": event.flow_control_key,
            "topicName": event.topic_name,
            "endpointName": event.endpoint_name,
            "queueName": event.queue_name,
            "scheduleId": event.schedule_id,
            "maxRetries": event.max_retries,
            "retryDelay": event.retry_delay,
            "timeout": Decimal(str(event.timeout_s)) if event.timeout_s is not None else None,
            "callback": event.callback,
            "callbackHeader": event.callback_header,
            "failureCallback": event.failure_callback,
            "failureCallbackHeader": event.failure_callback_header,
            "responseStatus": event.response_status,
            "responseHeader": event.response_header,
            "responseBody": event.response_body,
            "error": event.error,
            "nextDeliveryTime": event.next_delivery_time_ms,
            "attempt": event.attempt,
            TTL: expires_at_s,
        }
    )


def _event(item: Mapping[str, Any]) -> MessageEvent:
    def optional_int(name: str) -> int | None:
        return int(item[name]) if item.get(name) is not None else None

    def optional_headers(name: str) -> dict[str, list[str]] | None:
        return header_map(item[name]) if item.get(name) is not None else None

    return MessageEvent(
        message_id=item["messageId"],
        event_id=item["eventId"],
        time_ms=int(item["time"]),
        state=MessageState(item["state"]),
        url=item["url"],
        method=item.get("method"),
        header=optional_headers("header"),
        body=item.get("body"),
        labels=tuple(item.get("labels") or ()),
        caller_ip=item.get("callerIp"),
        flow_control_key=item.get("flowControlKey"),
        topic_name=item.get("topicName"),
        endpoint_name=item.get("endpointName"),
        queue_name=item.get("queueName"),
        schedule_id=item.get("scheduleId"),
        max_retries=optional_int("maxRetries"),
        retry_delay=item.get("retryDelay"),
        timeout_s=float(item["timeout"]) if item.get("timeout") is not None else None,
        callback=item.get("callback"),
        callback_header=optional_headers("callbackHeader"),
        failure_callback=item.get("failureCallback"),
        failure_callback_header=optional_headers("failureCallbackHeader"),
        response_status=optional_int("responseStatus"),
        response_header=optional_headers("responseHeader"),
        response_body=item.get("responseBody"),
        error=item.get("error"),
        next_delivery_time_ms=optional_int("nextDeliveryTime"),
        attempt=optional_int("attempt"),
    )
