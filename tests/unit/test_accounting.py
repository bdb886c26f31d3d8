"""The accounting invariant's checker finds every way a message can be lost, and counts duplicates."""

from __future__ import annotations

from bench.accounting import account, dead_lettered, final_states

DELIVERED = ["CREATED", "ACTIVE", "DELIVERED"]
FAILED = ["CREATED", "ACTIVE", "RETRY", "ACTIVE", "FAILED"]
CANCELED = ["CREATED", "CANCEL_REQUESTED", "CANCELED"]


def test_a_clean_run_settles_every_message():
    report = account(
        ["a", "b", "c"],
        {"a": DELIVERED, "b": FAILED, "c": CANCELED},
        {"b": 1},
        {"a": 1},
        cancelled=["c"],
    )
    assert (report.delivered, report.dead_lettered, report.cancelled, report.lost) == (1, 1, 1, {})
    assert report.duplicate_deliveries == 0 and report.settled == 3


def test_every_kind_of_loss_is_found():
    log = {
        "no-log": [],
        "stuck": ["CREATED", "ACTIVE"],
        "two-finals": ["CREATED", "ACTIVE", "DELIVERED", "ACTIVE", "FAILED"],
        "unseen": DELIVERED,
        "failed-not-in-dlq": FAILED,
        "delivered-and-in-dlq": DELIVERED,
        "cancel-nobody-asked": CANCELED,
        "no-created": ["ACTIVE", "DELIVERED"],
    }
    report = account(
        list(log),
        log,
        {"delivered-and-in-dlq": 1},
        {"two-finals": 1, "failed-not-in-dlq": 0, "delivered-and-in-dlq": 1, "no-created": 1},
    )
    assert set(report.lost) == set(log)
    assert report.settled == 0


def test_duplicates_and_strangers_are_counted_not_lost():
    report = account(["a", "b"], {"a": DELIVERED, "b": DELIVERED}, {}, {"a": 3, "b": 1, "stranger": 2})
    assert report.lost == {}
    assert (report.duplicate_deliveries, report.duplicated_messages, report.unexpected_deliveries) == (2, 1, 2)
    assert report.duplicate_rate == 1.0


def test_the_log_and_the_dlq_are_read_through_every_page():
    events = [{"messageId": f"m{n // 3}", "state": s} for n, s in enumerate(DELIVERED * 5)]
    dlq = [{"messageId": "m1"}, {"messageId": "m1"}, {"messageId": "m4"}]
    calls = []

    def api(path, params):
        calls.append((path, dict(params)))
        items, key = (events, "events") if path == "/v2/events" else (dlq, "messages")
        start = int(params.get("cursor", 0))
        page = items[start : start + 2]
        more = start + 2 < len(items)
        return {key: page, **({"cursor": str(start + 2)} if more else {})}

    assert final_states(api, 5) == {f"m{n}": DELIVERED for n in range(5)}
    assert dead_lettered(api) == {"m1": 2, "m4": 1}
    assert calls[0] == ("/v2/events", {"fromDate": 5, "order": "earliestFirst", "count": 1000})
