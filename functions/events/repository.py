"""Reading the event log, which the messages table holds: each message's entries are in its state item
(functions/core/log.py), and the state items of a write shard are its messages in creation order.

The log across messages, newest (or oldest) first, merges two listings, each over every shard:
- the state items by creation time: a message's entries made within LATE_AFTER_MS of its creation;
- the `late#<shard>` markers by event time: the messages with entries made later (delays, retries, slow answers).
An entry is given out once neither listing can still hold an entry that comes before it in the order.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from functions.core.codec import header_map, redaction_from_attribute
from functions.core.events import BODY_STATES, MessageEvent
from functions.core.filters import RecordFilter
from functions.core.lifecycle import MessageState
from functions.core.log import expanded
from functions.core.redaction import redact_headers
from functions.shared.dynamo import Conditions, DynamoRepository, from_item, is_expired, to_item
from functions.shared.errors import BadRequestError
from functions.shared.ids import is_uuid7, time_of_uuid7, uuid7_bound
from functions.shared.paging import decode_cursor, encode_cursor
from functions.shared.shards import merged
from functions.stores.message_items import LATE, LATE_AFTER_MS, REQUEST, STATE, TTL, state_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Entries = list[dict[str, Any]]  # (the repository's `list` method hides the builtin in its class)
Events = list[MessageEvent]
_DAY_MS = 86_400_000
_ID_SLACK_MS = 1000  # a UUIDv7 may be made up to this far ahead of its millisecond (functions/shared/ids.py)
# How many events a page may read beyond the `count` it answers (a filter that matches few reads more per match).
MAX_EXAMINED_PER_PAGE = 5000
_FIRST_PAGE = 25  # state items or markers read per shard at first (then pages twice as large)
_MARKERS_AT_ONCE = 25  # late markers taken together, their messages' state items read in one batch
# The request's attributes that its events show (request_event), read from the request item with the log
_REQUEST_FIELDS = "pk, header, redact, endpointName, #timeout, callback, failureCallback, #ttl"


@dataclass(frozen=True)
class EventPage:
    events: list[MessageEvent]
    cursor: str | None  # None on the last page


class EventStorePort(Protocol):
    """What the event service uses of `EventRepository`."""

    def list(
        self, where: RecordFilter, *, count: int, now_ms: int, cursor: str | None = None, newest_first: bool = True
    ) -> EventPage: ...


class EventRepository(DynamoRepository):
    def __init__(self, table_name: str, retention_s: int, client: DynamoDBClient | None = None) -> None:
        super().__init__(table_name, client)
        self.retention_s = retention_s

    def for_message(self, message_id: str, now_ms: int) -> list[MessageEvent]:
        """Every event of a message, oldest first."""
        item = self.client.get_item(TableName=self.table_name, Key=state_key(message_id), ConsistentRead=True)
        entries = [e for e in expanded(from_item(item["Item"])) if self._live(e, now_ms)] if "Item" in item else []
        return self._events(entries, now_ms)

    def list(
        self, where: RecordFilter, *, count: int, now_ms: int, cursor: str | None = None, newest_first: bool = True
    ) -> EventPage:
        """A page of at most `count` events matching `where`, newest (or oldest) first, within the retention
        window; never a scan.

        A page reads at most `count` + MAX_EXAMINED_PER_PAGE events, whatever the filter and the cursor: when a
        filter matches few of them, the page holds fewer than `count` and its cursor goes on from the last one read.
        """
        after = _cursor_event_id(cursor) if cursor else None
        lowest = uuid7_bound(max(where.from_ms or 0, now_ms - self.retention_s * 1000 - _DAY_MS), upper=False)
        # Nothing is logged ahead of now (a day allows for clock skew)
        highest = uuid7_bound(
            min(where.to_ms, now_ms + _DAY_MS) if where.to_ms is not None else now_ms + _DAY_MS, upper=True
        )
        if after is not None:
            lowest, highest = (lowest, min(highest, after)) if newest_first else (max(lowest, after), highest)
        if lowest > highest or where.matches_nothing:
            return EventPage([], None)
        found: Entries = []
        examined, last_read = 0, None
        for entry in self._entries(where, lowest, highest, newest_first, now_ms):
            if entry["eventId"] == after:
                continue
            if examined >= count + MAX_EXAMINED_PER_PAGE:  # the page's budget is spent: go on from the last one read
                return EventPage(
                    self._events(found, now_ms), encode_cursor({"eventId": last_read}) if last_read else None
                )
            examined, last_read = examined + 1, str(entry["eventId"])
            if where.matches(entry):
                found.append(entry)
                if len(found) > count:  # one more than asked tells whether another page exists
                    break
        more = len(found) > count
        found = found[:count]
        return EventPage(
            self._events(found, now_ms), encode_cursor({"eventId": found[-1]["eventId"]}) if more else None
        )

    def _live(self, entry: Mapping[str, Any], now_ms: int) -> bool:
        return int(entry["time"]) + self.retention_s * 1000 > now_ms

    def _entries(
        self, where: RecordFilter, lowest: str, highest: str, newest_first: bool, now_ms: int
    ) -> Iterator[dict[str, Any]]:
        """The live entries whose ids are between `lowest` and `highest`, in order (of `where`'s messages when it
        names some); the caller matches the rest of `where`."""

        def wanted(entry: Mapping[str, Any]) -> bool:
            return lowest <= str(entry["eventId"]) <= highest and self._live(entry, now_ms)

        if where.message_ids is not None:  # a few entries per message: read each, merge in order
            keys = [state_key(message_id) for message_id in dict.fromkeys(where.message_ids)]
            entries = [e for item in self.batch_get(keys) for e in expanded(item) if wanted(e)]
            yield from sorted(entries, key=lambda e: str(e["eventId"]), reverse=newest_first)
            return
        yield from _Merge(self, lowest, highest, newest_first, now_ms, wanted)

    def _events(self, entries: Entries, now_ms: int) -> Events:
        """The events of these entries, those of request states with the request's attributes (one batch read)."""
        wants = {str(e["messageId"]) for e in entries if e["state"] in BODY_STATES}
        requests = {
            str(item["pk"]): item
            for item in self.batch_get(
                [to_item({"pk": message_id, "sk": REQUEST}) for message_id in wants],
                _REQUEST_FIELDS,
                {"#ttl": TTL, "#timeout": "timeout"},
            )
            if not is_expired(item, TTL, now_ms)
        }
        return [_event(e, requests.get(str(e["messageId"])) if e["state"] in BODY_STATES else None) for e in entries]


class _Merge:
    """The entries between two ids across messages, in order: the state items by creation (each giving its entries
    made within LATE_AFTER_MS of its creation) and the late markers (each giving its message's later entries)
    merged, an entry given out once neither listing can still hold one before it."""

    def __init__(
        self,
        events: EventRepository,
        lowest: str,
        highest: str,
        newest_first: bool,
        now_ms: int,
        wanted: Any,
    ) -> None:
        self.events, self.newest_first, self.wanted = events, newest_first, wanted
        lowest_ms = time_of_uuid7(lowest)
        # A message's early entries come within LATE_AFTER_MS of its creation: the state items created that long
        # before the range may hold some (and ids may run up to a second ahead of their time).
        first_created = uuid7_bound(max(0, lowest_ms - LATE_AFTER_MS - _ID_SLACK_MS), upper=False)

        def listing(prefix: str, first: str) -> Iterator[dict[str, Any]]:
            """The items under every shard of `prefix` whose sort key is between `first` and `highest`."""
            query = (
                Conditions()
                .not_expired(TTL, now_ms)
                .query_arguments(
                    "pk = :shard AND sk BETWEEN :lowest AND :highest", shard="", lowest=first, highest=highest
                )
            )
            return merged(
                events.client,
                prefix,
                {"TableName": events.table_name, **query},
                sort_attribute="sk",
                descending=newest_first,
                first_page=_FIRST_PAGE,
            )

        self.states = listing(STATE, first_created)
        self.markers = listing(LATE, lowest)
        self.heap: list[tuple[int, str, int, dict[str, Any]]] = []  # (order, event id, time, entry)
        self.state_frontier: int | None = None  # the creation time (ms of its id) of the last state item read
        self.marker_frontier: int | None = None  # the time of the last marker read
        self.states_done = self.markers_done = False
        self.late_read: set[str] = set()
        self.now_ms = now_ms

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while True:
            while self.heap and self._safe(self.heap[0][2]):
                yield heapq.heappop(self.heap)[3]
            if self.states_done and self.markers_done:
                return
            self._read_more()

    def _order(self, event_id: str) -> int:
        value = int(event_id.replace("-", ""), 16)
        return -value if self.newest_first else value

    def _safe(self, time_ms: int) -> bool:
        """No listing can still give an entry that comes before one made at `time_ms` (a listing not read from yet
        can give anything)."""
        states, markers = self.state_frontier, self.marker_frontier
        if self.newest_first:
            states_ok = self.states_done or (states is not None and time_ms > states + LATE_AFTER_MS)
            markers_ok = self.markers_done or (markers is not None and time_ms > markers)
        else:
            states_ok = self.states_done or (states is not None and time_ms < states - _ID_SLACK_MS)
            markers_ok = self.markers_done or (markers is not None and time_ms < markers)
        return states_ok and markers_ok

    def _read_more(self) -> None:
        """Read from the listing that holds the rest back: the one whose frontier is furthest behind."""
        if self.markers_done or (not self.states_done and self._states_behind()):
            item = next(self.states, None)
            if item is None:
                self.states_done = True
                return
            self.state_frontier = created = time_of_uuid7(str(item["sk"]))
            for entry in expanded(item):  # (late or not: as the writer decides it, from the message id's time)
                if int(entry["time"]) - created <= LATE_AFTER_MS and self.wanted(entry):
                    self._push(entry)
            return
        markers = list(itertools.islice(self.markers, _MARKERS_AT_ONCE))  # (their messages read in one batch)
        if not markers:
            self.markers_done = True
            return
        self.marker_frontier = time_of_uuid7(str(markers[-1]["sk"]))
        unread = list(dict.fromkeys(str(m["messageId"]) for m in markers if str(m["messageId"]) not in self.late_read))
        self.late_read.update(unread)
        for state in self.events.batch_get([state_key(message_id) for message_id in unread]):
            if is_expired(state, TTL, self.now_ms):
                continue
            created = time_of_uuid7(str(state["sk"]))
            for entry in expanded(state):
                if int(entry["time"]) - created > LATE_AFTER_MS and self.wanted(entry):
                    self._push(entry)

    def _states_behind(self) -> bool:
        if self.state_frontier is None:
            return True
        if self.marker_frontier is None:
            return False
        if self.newest_first:  # the larger bound holds the rest back
            return self.state_frontier + LATE_AFTER_MS >= self.marker_frontier
        return self.state_frontier - _ID_SLACK_MS <= self.marker_frontier

    def _push(self, entry: dict[str, Any]) -> None:
        event_id = str(entry["eventId"])
        heapq.heappush(self.heap, (self._order(event_id), event_id, int(entry["time"]), entry))


def _cursor_event_id(cursor: str) -> str:
    """The event a page's cursor goes on from: 400 for anything but a cursor Postbox could have made."""
    event_id = decode_cursor(cursor, {"eventId"})["eventId"]
    if not is_uuid7(event_id):
        raise BadRequestError("invalid cursor")
    return str(event_id)


def _event(entry: Mapping[str, Any], request: Mapping[str, Any] | None) -> MessageEvent:
    """The event of a log entry; a request event shows the request's attributes, from its request item."""

    def optional_int(name: str) -> int | None:
        return int(entry[name]) if entry.get(name) is not None else None

    def optional_headers(name: str) -> dict[str, list[str]] | None:
        return header_map(entry[name]) if entry.get(name) is not None else None

    shown: dict[str, Any] = {}
    if request is not None:
        callback, failure = request.get("callback") or {}, request.get("failureCallback") or {}
        header = redact_headers(header_map(request.get("header")), redaction_from_attribute(request.get("redact")))
        shown = {
            "header": header or None,
            "endpoint_name": request.get("endpointName"),
            "timeout_s": float(request["timeout"]) if request.get("timeout") is not None else None,
            "callback": callback.get("url"),
            "callback_header": header_map(callback.get("header")) or None if callback else None,
            "failure_callback": failure.get("url"),
            "failure_callback_header": header_map(failure.get("header")) or None if failure else None,
        }
    return MessageEvent(
        message_id=entry["messageId"],
        event_id=entry["eventId"],
        time_ms=int(entry["time"]),
        state=MessageState(entry["state"]),
        url=entry["url"],
        method=entry.get("method"),
        labels=tuple(entry.get("labels") or ()),
        caller_ip=entry.get("callerIp"),
        flow_control_key=entry.get("flowControlKey"),
        topic_name=entry.get("topicName"),
        queue_name=entry.get("queueName"),
        schedule_id=entry.get("scheduleId"),
        max_retries=optional_int("maxRetries"),
        retry_delay=entry.get("retryDelay"),
        response_status=optional_int("responseStatus"),
        response_header=optional_headers("responseHeader"),
        response_body=entry.get("responseBody"),
        error=entry.get("error"),
        next_delivery_time_ms=optional_int("nextDeliveryTime"),
        attempt=optional_int("attempt"),
        **shown,
    )
