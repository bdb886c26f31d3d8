"""The log across messages, read from the state items by creation and from the late markers, gives exactly the
entries in the range, in order, page after page: checked against the entries sorted by hand, for logs whose entries
come early and late after their message's creation, in both orders."""

from __future__ import annotations

import random
import uuid

import boto3
import pytest

from functions.core.filters import RecordFilter
from functions.events.repository import EventRepository
from functions.shared.config import get_settings
from functions.shared.dynamo import to_item
from functions.shared.ids import uuid7_bound
from functions.shared.shards import shard_key
from functions.stores.message_items import LATE, LATE_AFTER_MS, STATE, TTL

NOW = 1_800_000_000_000  # the listing's clock: the entries are made in the hour before it


def uuid_at(ms: int, rng: random.Random) -> str:
    return str(uuid.UUID(int=ms << 80 | 0x7 << 76 | rng.getrandbits(12) << 64 | 0b10 << 62 | rng.getrandbits(62)))


def seed(rng: random.Random, messages: int) -> list[tuple[str, str]]:
    """Messages created over an hour, each with entries soon after its creation and some long after (delays,
    retries), written as the writer writes them (a marker for each late entry); returns (event id, message id)."""
    client, table = boto3.client("dynamodb"), get_settings().messages_table
    entries = []
    for _ in range(messages):
        created = NOW - 3_600_000 + rng.randrange(3_500_000)
        message_id = uuid_at(created, rng)
        offsets = sorted(
            rng.choice([rng.randrange(LATE_AFTER_MS), rng.randrange(10 * LATE_AFTER_MS)]) for _ in range(3)
        )
        log = [{"eventId": uuid_at(created + offset, rng), "state": "CREATED"} for offset in offsets]
        state = {"pk": shard_key(STATE, message_id), "sk": message_id, "createdAt": created, "url": "https://x/"}
        client.put_item(TableName=table, Item=to_item({**state, "state": "CREATED", "log": log, TTL: 4_000_000_000}))
        for offset, entry in zip(offsets, log, strict=True):
            entries.append((entry["eventId"], message_id))
            if offset > LATE_AFTER_MS:
                marker = {"pk": shard_key(LATE, message_id), "sk": entry["eventId"], "messageId": message_id}
                client.put_item(TableName=table, Item=to_item({**marker, TTL: 4_000_000_000}))
    return entries


@pytest.mark.parametrize("newest_first", [True, False], ids=["newest-first", "oldest-first"])
def test_the_merged_log_is_every_entry_in_order(postbox, newest_first: bool) -> None:
    rng = random.Random(17)
    entries = seed(rng, 60)
    events = EventRepository(get_settings().messages_table, retention_s=7 * 86_400)
    lowest, highest = NOW - 3_000_000, NOW - 600_000  # a range that cuts through messages' lives
    expected = sorted(
        (e for e in entries if uuid7_bound(lowest, upper=False) <= e[0] <= uuid7_bound(highest, upper=True)),
        reverse=newest_first,
    )
    where = RecordFilter(from_ms=lowest, to_ms=highest)
    got, cursor = [], None
    while True:
        page = events.list(where, count=17, now_ms=NOW, cursor=cursor, newest_first=newest_first)
        got += [(e.event_id, e.message_id) for e in page.events]
        if page.cursor is None:
            break
        cursor = page.cursor
    assert got == expected and len(expected) > 50
