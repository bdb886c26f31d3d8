import pytest

from functions.core.durations import parse_duration
from functions.core.models import MessageRequest
from functions.messages.publish import (
    PublishLimits,
    build_message,
    canonical_header_name,
    destination_from_path,
    validate_destination,
)
from functions.shared.errors import BadRequestError, PayloadTooLargeError
from functions.shared.ssrf import AddressPolicy

LIMITS = PublishLimits(default_retries=3, max_retries=5, max_body_bytes=1024, addresses=AddressPolicy())
LOCAL = AddressPolicy(allow_loopback=True)
NOW = 1_800_000_000_000


def build(
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    destination: str = "https://example.com/hook",
    limits: PublishLimits = LIMITS,
) -> MessageRequest:
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
        validate_destination(url, addresses=LOCAL)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/x",
        "http://localhost/x",
        "http://api.localhost./x",
        "http://[::1]/x",
        "http://127.1/x",
        "http://2130706433/x",
        "http://[::ffff:127.0.0.1]/x",
    ],
)
def test_loopback_is_refused_unless_allowed(url):
    with pytest.raises(BadRequestError, match="loopback"):
        validate_destination(url, addresses=AddressPolicy())
    assert validate_destination(url, addresses=LOCAL) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.0.0.1/x", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "unique-local"),
        ("http://100.64.1.1/", "carrier-grade NAT"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::ffff:a9fe:a9fe]/", "link-local, as an IPv6 address"),
        ("https://0xa9fea9fe/", "link-local"),
    ],
)
def test_literal_non_public_addresses_are_refused_even_in_local_mode(url, reason):
    with pytest.raises(BadRequestError, match=f"{reason} addresses are not allowed"):
        validate_destination(url, addresses=LOCAL)


def test_the_allowlist_admits_private_literals():
    policy = AddressPolicy.from_settings(["10.0.0.0/24"], allow_loopback=False)
    assert validate_destination("http://10.0.0.7/hook", addresses=policy) == "http://10.0.0.7/hook"
    with pytest.raises(BadRequestError, match="private"):
        validate_destination("http://10.0.1.7/hook", addresses=policy)


def test_names_are_left_to_the_worker_check():
    assert validate_destination("https://internal.example/x", addresses=AddressPolicy()) == "https://internal.example/x"


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
