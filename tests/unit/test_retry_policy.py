"""Retry policy: Retry-After-style response headers, the 489 non-retryable rule, and delay precedence."""

import pytest

from functions.delivery.expressions import compile_retry_delay
from functions.delivery.retry import (
    MAX_RETRY_AFTER_MS,
    is_non_retryable,
    next_attempt_at_ms,
    next_retry_delay_ms,
    parse_retry_after,
)

# "Wed, 21 Oct 2015 07:28:00 GMT" is 1445412480000 ms; "now" is two minutes earlier.
DATE_MS = 1_445_412_480_000
NOW_MS = DATE_MS - 120_000
NOW_S = NOW_MS // 1000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # integer and decimal seconds
        ("120", 120_000),
        ("1.5", 1_500),
        (" 30 ", 30_000),
        ("0", 0),
        ("0.0", 0),
        ("0.29", 290),
        ("0.0001", 1),  # rounded up: never retry earlier than asked
        ("86400", MAX_RETRY_AFTER_MS),
        # Go-style durations
        ("6m5s", 365_000),
        ("1h", 3_600_000),
        ("250ms", 250),
        ("1.5s", 1_500),
        ("1h30m", 5_400_000),
        ("2m0.5s", 120_500),
        ("0s", 0),
        ("500us", 1),
        ("2000us", 2),
        ("2000\u00b5s", 2),  # micro sign
        ("2000\u03bcs", 2),  # Greek mu
        ("1500000ns", 2),
        ("24h", MAX_RETRY_AFTER_MS),
        # HTTP dates (IMF-fixdate, RFC 850, asctime), relative to now
        ("Wed, 21 Oct 2015 07:28:00 GMT", 120_000),
        ("Wednesday, 21-Oct-15 07:28:00 GMT", 120_000),
        ("Wed Oct 21 07:28:00 2015", 120_000),
        ("Wed, 21 Oct 2015 07:26:30 GMT", 30_000),
        ("Wed, 21 Oct 2015 07:26:00 GMT", 0),  # exactly now
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0),  # past
        ("Tue, 20 Oct 2015 07:28:00 GMT", 0),
        ("Wed, 21 Oct 2015 09:28:00 +0200", 120_000),
        ("Thu, 22 Oct 2015 07:26:00 GMT", MAX_RETRY_AFTER_MS),
    ],
)
def test_retry_after_formats(value, expected):
    # Given a response with a Retry-After header
    headers = {"Retry-After": [value]}

    # When it is parsed at a fixed now
    delay = parse_retry_after(headers, NOW_MS)

    # Then the delay is in milliseconds relative to now
    assert delay == expected


@pytest.mark.parametrize(
    "value",
    [
        "86401",
        "86400.001",
        "24h0m0.001s",
        "25h",
        "1000000h",
        "Thu, 22 Oct 2015 07:26:00.5 GMT",  # not a valid date either
        "Fri, 23 Oct 2015 07:28:00 GMT",
        str(NOW_S + 30),  # in Retry-After a big number is seconds, not a unix timestamp
        "9" * 100,
    ],
)
def test_delays_above_a_day_or_junk_give_none(value):
    # Given / When / Then
    assert parse_retry_after({"Retry-After": [value]}, NOW_MS) is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "soon",
        "-5",
        "-1s",
        "1e3",
        "1,5",
        "6 m",
        "5d",
        "abc123",
        "m",
        "1.2.3",
        "NaN",
        "inf",
        "0x10",
        "1" * 129,
    ],
)
def test_unparseable_values_give_none(value):
    # Given / When / Then
    assert parse_retry_after({"Retry-After": [value]}, NOW_MS) is None


@pytest.mark.parametrize("name", ["X-RateLimit-Reset", "X-RateLimit-Reset-Requests", "X-RateLimit-Reset-Tokens"])
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (str(NOW_S + 30), 30_000),  # unix timestamp in seconds
        (f"{NOW_S + 30}.25", 30_250),
        (str(NOW_S - 30), 0),  # already reset
        (str(NOW_S + 86_400), MAX_RETRY_AFTER_MS),
        (str(NOW_S + 86_401), None),
        ("30", 30_000),  # small numbers stay relative seconds
        ("6m0s", 360_000),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 120_000),
    ],
)
def test_rate_limit_reset_headers(name, value, expected):
    # Given / When / Then
    assert parse_retry_after({name: [value]}, NOW_MS) == expected


@pytest.mark.parametrize(
    "name",
    ["retry-after", "RETRY-AFTER", "Retry-after", "x-ratelimit-reset", "X-RATELIMIT-RESET-TOKENS"],
)
def test_header_names_are_case_insensitive(name):
    # Given / When / Then
    assert parse_retry_after({name: ["7"]}, NOW_MS) == 7_000


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": []}, None),
        ({"Content-Type": ["text/plain"], "X-RateLimit-Limit": ["100"]}, None),
        # Retry-After > X-RateLimit-Reset > -Requests > -Tokens, whatever the dict order
        ({"X-RateLimit-Reset": ["20"], "Retry-After": ["10"]}, 10_000),
        ({"X-RateLimit-Reset-Requests": ["30"], "X-RateLimit-Reset": ["20"]}, 20_000),
        ({"X-RateLimit-Reset-Tokens": ["40"], "X-RateLimit-Reset-Requests": ["30"]}, 30_000),
        ({"X-RateLimit-Reset-Tokens": ["40"]}, 40_000),
        # an unparseable header is skipped
        ({"Retry-After": ["later"], "X-RateLimit-Reset": ["20"]}, 20_000),
        ({"Retry-After": ["later", "5"]}, 5_000),
        ({"Retry-After": ["5", "6"]}, 5_000),
        # the first value that parses wins, even when it is above a day (-> None, default backoff)
        ({"Retry-After": ["172800"], "X-RateLimit-Reset": ["20"]}, None),
    ],
)
def test_header_precedence(headers, expected):
    # Given / When / Then
    assert parse_retry_after(headers, NOW_MS) == expected


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (489, {"Upstash-NonRetryable-Error": ["true"]}, True),
        (489, {"upstash-nonretryable-error": ["TRUE"]}, True),
        (489, {"UPSTASH-NONRETRYABLE-ERROR": [" True "]}, True),
        (489, {"Upstash-NonRetryable-Error": ["false", "true"]}, True),
        (489, {"Upstash-NonRetryable-Error": ["false"]}, False),
        (489, {"Upstash-NonRetryable-Error": ["1"]}, False),
        (489, {"Upstash-NonRetryable-Error": []}, False),
        (489, {}, False),
        (500, {"Upstash-NonRetryable-Error": ["true"]}, False),
        (400, {"Upstash-NonRetryable-Error": ["true"]}, False),
        (200, {"Upstash-NonRetryable-Error": ["true"]}, False),
        (None, {"Upstash-NonRetryable-Error": ["true"]}, False),  # connection error / timeout
    ],
)
def test_489_with_non_retryable_header_is_final(status, headers, expected):
    # Given / When / Then
    assert is_non_retryable(status, headers) is expected


@pytest.mark.parametrize(
    ("retry_number", "expression", "headers", "expected"),
    [
        # the destination's header wins over the expression and the default
        (1, "1000 * (1 + retried)", {"Retry-After": ["5"]}, 5_000),
        (3, None, {"retry-after": ["250ms"]}, 250),
        (2, "60000", {"Retry-After": ["0"]}, 0),  # 0 = retry now
        (1, None, {"X-RateLimit-Reset": [str(NOW_S + 90)]}, 90_000),
        # a header above a day (or unparseable) is ignored: expression, else default backoff
        (1, "1000 * (1 + retried)", {"Retry-After": ["172800"]}, 1_000),
        (2, "1000 * (1 + retried)", {"Retry-After": ["whenever"]}, 2_000),
        (1, None, {"Retry-After": ["172800"]}, 12_182),
        # the expression wins over the default; retried = retry_number - 1
        (1, "pow(2, retried) * 1000", {}, 1_000),
        (4, "pow(2, retried) * 1000", {}, 8_000),
        (1, "0", {}, 0),
        # an expression that cannot be evaluated falls back to the default backoff
        (1, "1000 / retried", {}, 12_182),
        (2, "exp(1e9)", {}, 148_413),
        # default backoff min(86400, e^(2.5 n)) s
        (1, None, {}, 12_182),
        (2, None, {}, 148_413),
        (3, None, {}, 1_808_042),
        (4, None, {}, 22_026_465),
        (5, None, {}, 86_400_000),
        (40, None, {}, 86_400_000),
    ],
)
def test_next_retry_delay_precedence(retry_number, expression, headers, expected):
    # Given an optional Upstash-Retry-Delay expression and the failed attempt's response headers
    compiled = None if expression is None else compile_retry_delay(expression)

    # When the next delay is computed
    delay = next_retry_delay_ms(retry_number=retry_number, expression=compiled, response_headers=headers, now_ms=NOW_MS)

    # Then header > expression > default backoff
    assert delay == expected


def test_default_backoff_matches_next_attempt_at_ms():
    # Given no header and no expression
    # When / Then the delay agrees with the existing scheduling helper
    for retry_number in range(1, 8):
        delay = next_retry_delay_ms(retry_number=retry_number, expression=None, response_headers={}, now_ms=NOW_MS)
        assert NOW_MS + delay == next_attempt_at_ms(NOW_MS, retry_number)
