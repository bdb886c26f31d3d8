"""A message's event log as its state item holds it: a list of entries, one per state change, appended by the same
conditional update that makes the change (so a message never has a state its log lacks).

An entry keeps only what belongs to the event (its id, which carries its time, the state, the attempt's outcome);
what the message's log entries all share (url, labels, flow-control key, ...) is read from the state item, and what
request events show of the request (headers, callbacks, timeout, endpoint) from the request item when the log is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from functions.core.events import MessageEvent
from functions.shared.ids import time_of_uuid7

LOG = "log"  # the state item's attribute holding the entries

# The entry's own attributes, by their stored names (those of the old one-item-per-event layout, which the filters read)
_ENTRY_FIELDS = {
    "eventId": "event_id",
    "state": "state",
    "attempt": "attempt",
    "responseStatus": "response_status",
    "responseHeader": "response_header",
    "responseBody": "response_body",
    "error": "error",
    "nextDeliveryTime": "next_delivery_time_ms",
}
# What every entry of a message shows, read from its state item
SHARED_FIELDS = (
    "url",
    "method",
    "labels",
    "callerIp",
    "flowControlKey",
    "topicName",
    "queueName",
    "scheduleId",
    "maxRetries",
    "retryDelay",
)


def log_entry(event: MessageEvent) -> dict[str, Any]:
    """The entry that records `event` (None values left out)."""
    entry = {stored: getattr(event, field) for stored, field in _ENTRY_FIELDS.items()}
    entry["state"] = event.state.value
    return {name: value for name, value in entry.items() if value is not None}


def expanded(state_item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The log entries of a state item, each with the attributes its message's entries share, in the shape the
    filters read (`messageId`, `time`, `url`, `labels`, `state`, `responseStatus`, ...), oldest first."""
    shared = {name: state_item[name] for name in SHARED_FIELDS if state_item.get(name) is not None}
    message_id = str(state_item["sk"])
    return [
        {**shared, **_plain(entry), "messageId": message_id, "time": time_of_uuid7(str(entry["eventId"]))}
        for entry in state_item.get(LOG, ())
    ]


def _plain(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An entry as read back: binary values (a response body) unwrapped from boto3's Binary to bytes."""
    return {k: bytes(v.value) if hasattr(v, "value") and isinstance(v.value, bytes) else v for k, v in entry.items()}
