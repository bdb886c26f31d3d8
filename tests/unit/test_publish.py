import pytest

from functions.messages.publish import (
    PublishLimits,
    build_message,
    canonical_header_name,
    destination_from_path,
    parse_duration,
    validate_destination,
)
from functions.shared.errors import BadRequestError, PayloadTooLargeError

LIMITS = PublishLimits(default_retries=3, max_retries=5, max_body_bytes=1024, allow_loopback=False)
NOW = 1_800_000_000_000


def build(headers=None, body=b"", destination="https://example.com/hook", limits=LIMITS):
    return build_message(
        message_id="m1",
        destination=destination,
        headers=headers or {},
        body=body,
        caller_ip="1.2.3.4",
        now_ms=NOW,
        limits=limits,
    )


@pytest.mark.parametrize(
    ("tail", "query", "expected"),
    [
        ("https://example.com/a/b", "", "https://example.com/a/b"),
        ("https:/example.com/a", "", "https://example.com/a"),  # a proxy collapsed the double slash
        ("http:/example.com", "", "http://example.com"),
        ("https%3A%2F%2Fexample.com%2Fa", "", "https://example.com/a"),
        ("https://example.com/a", "x=1&y=%2F", "https://example.com/a?x=1&y=%2F"),
        ("https://example.com/a", "x=1&qstash_token=secret", "https://example.com/a?x=1"),
        ("https://example.com/a", "upstash-retries=3", "https://example.com/a"),
    ],
)
def test_destination_is_rebuilt_from_raw_path_and_query(tail, query, expected):
    # Given the raw path tail and query of a publish request / When rebuilt / Then the destination is exact
    assert destination_from_path(tail, query) == expected


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "example.com/hook", "https://", "http:// spaced.com", "https://example.com:99999/"]
)
def test_destination_must_be_an_absolute_http_url(url):
    with pytest.raises(BadRequestError):
        validate_destination(url, allow_loopback=True)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/x", "http://localhost/x", "http://[::1]/x", "http://0.0.0.0/"])
def test_loopback_is_refused_unless_allowed(url):
    with pytest.raises(BadRequestError, match="loopback"):
        validate_destination(url, allow_loopback=False)
    assert validate_destination(url, allow_loopback=True) == url


@pytest.mark.parametrize(("text", "seconds"), [("10s", 10), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("45", 45)])
def test_durations(text, seconds):
    assert parse_duration(text, "Upstash-Delay") == seconds


@pytest.mark.parametrize("text", ["", "10x", "-5s", "1.5h", "s10"])
def test_bad_durations_are_rejected(text):
    with pytest.raises(BadRequestError, match="Upstash-Delay"):
        parse_duration(text, "Upstash-Delay")


def test_canonical_header_names():
    assert canonical_header_name("x-custom-header") == "X-Custom-Header"
    assert canonical_header_name("AUTHORIZATION") == "Authorization"


def test_defaults():
    # Given a bare publish / When built / Then QStash's defaults apply
    message = build(body=b"hi")
    assert message.method == "POST"
    assert message.max_retries == 3
    assert message.not_before_ms == NOW
    assert message.header == {}
    assert message.body == b"hi"


def test_publish_headers_are_parsed():
    # Given every publish header this slice supports
    headers = {
        "content-type": "application/json",
        "upstash-method": "put",
        "upstash-retries": "5",
        "upstash-delay": "1m",
        "upstash-label": "billing",
        "upstash-forward-x-trace": "abc",
        "upstash-forward-authorization": "Bearer x",
        "authorization": "Bearer postbox-token",
    }
    # When built
    message = build(headers)
    # Then forwarded headers lose their prefix, Postbox's own token is not forwarded
    assert message.method == "PUT"
    assert message.max_retries == 5
    assert message.not_before_ms == NOW + 60_000
    assert message.label == "billing"
    assert message.content_type == "application/json"
    assert message.header == {"X-Trace": ["abc"], "Authorization": ["Bearer x"]}


def test_not_before_wins_over_delay():
    message = build({"upstash-delay": "1h", "upstash-not-before": str(NOW // 1000 + 30)})
    assert message.not_before_ms == NOW + 30_000


@pytest.mark.parametrize(
    ("headers", "match"),
    [
        ({"upstash-retries": "6"}, "Upstash-Retries"),
        ({"upstash-retries": "-1"}, "Upstash-Retries"),
        ({"upstash-retries": "three"}, "Upstash-Retries"),
        ({"upstash-method": "FETCH"}, "Upstash-Method"),
        ({"upstash-not-before": "soon"}, "Upstash-Not-Before"),
        ({"upstash-delay": "later"}, "Upstash-Delay"),
        ({"upstash-forward-": "x"}, "forwarded header"),
    ],
)
def test_bad_headers_are_400(headers, match):
    with pytest.raises(BadRequestError, match=match):
        build(headers)


def test_oversize_body_is_413():
    with pytest.raises(PayloadTooLargeError):
        build(body=b"x" * 1025)
