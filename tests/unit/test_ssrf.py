"""The SSRF guard's address policy: every refused range, in IPv4 and in the IPv6 forms that carry IPv4."""

from __future__ import annotations

import pytest

from functions.messages.publish import validate_destination
from functions.shared.errors import BadRequestError
from functions.shared.ssrf import AddressPolicy, literal_address

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),  # EC2 instance metadata
    ("169.254.0.1", "link-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fd00:ec2::254", "unique-local"),  # EC2 instance metadata over IPv6
    ("fc00::1", "unique-local"),
    ("fec0::1", "site-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.255", "carrier-grade NAT"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("::", "unspecified"),
    ("192.0.2.10", "documentation"),
    ("2001:db8::1", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.0.8", "reserved"),
    ("2001::1", "reserved"),  # Teredo, whatever it carries
    # IPv6 forms carrying a refused IPv4 address
    ("::ffff:127.0.0.1", "loopback, as an IPv6 address"),
    ("::ffff:169.254.169.254", "link-local, as an IPv6 address"),
    ("::ffff:10.1.2.3", "private, as an IPv6 address"),
    ("::127.0.0.1", "loopback, as an IPv6 address"),  # IPv4-compatible (deprecated)
    ("64:ff9b::a9fe:a9fe", "link-local, as an IPv6 address"),  # NAT64 of 169.254.169.254
    ("64:ff9b::10.0.0.1", "private, as an IPv6 address"),
    ("64:ff9b:1::c0a8:101", "local-use NAT64"),  # whatever it translates to
    ("64:ff9b:1:abcd::808:808", "local-use NAT64"),
    ("2002:7f00:1::", "loopback, as an IPv6 address"),  # 6to4 of 127.0.0.1
    ("2002:a9fe:a9fe::1", "link-local, as an IPv6 address"),  # 6to4 of 169.254.169.254
    ("2002:c0a8:101::", "private, as an IPv6 address"),
]

ALLOWED = ["93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_refuses_every_non_public_range(address: str, reason: str) -> None:
    assert AddressPolicy().refusal(address) == reason


@pytest.mark.parametrize("address", ALLOWED)
def test_allows_public_addresses(address: str) -> None:
    assert AddressPolicy().refusal(address) is None


def test_local_mode_allows_loopback_and_nothing_else() -> None:
    policy = AddressPolicy(allow_loopback=True)
    assert policy.refusal("127.0.0.1") is None
    assert policy.refusal("::1") is None
    assert policy.refusal("::ffff:127.0.0.1") is None
    assert policy.refusal("10.0.0.1") == "private"
    assert policy.refusal("169.254.169.254") == "link-local"


def test_the_allowlist_opens_only_its_cidrs() -> None:
    policy = AddressPolicy.from_settings(["10.1.0.0/16", " fd12::/16 "], allow_loopback=False)
    assert policy.refusal("10.1.2.3") is None
    assert policy.refusal("::ffff:10.1.2.3") is None
    assert policy.refusal("fd12::5") is None
    assert policy.refusal("10.2.0.1") == "private"
    assert policy.refusal("127.0.0.1") == "loopback"


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("10.0.0.1", "10.0.0.1"),
        ("[::1]", "::1"),
        ("fe80::1%25eth0", "fe80::1"),  # a zone, as urlsplit hands it over
        ("127.1", "127.0.0.1"),  # the short forms inet_aton and getaddrinfo accept
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("example.com", None),
        ("cafe", None),
    ],
)
def test_literal_addresses_in_every_form_resolvers_accept(host: str, address: str | None) -> None:
    found = literal_address(host)
    assert (str(found) if found else None) == address


def _url(address: str) -> str:
    host = f"[{address.replace('%', '%25')}]" if ":" in address else address
    return f"https://{host}:8443/hook"


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_every_refused_range_is_a_400_at_publish_as_a_literal(address: str, reason: str) -> None:
    url = _url(address)
    with pytest.raises(BadRequestError) as refused:
        validate_destination(url, addresses=AddressPolicy())
    if "%" in address:  # a zone id: no `%` in a destination's host part at all
        assert "may not hold" in refused.value.message
    else:
        assert refused.value.message == f"invalid destination {url!r}: {reason} addresses are not allowed"


@pytest.mark.parametrize("address", ALLOWED)
def test_public_literals_pass_at_publish(address: str) -> None:
    assert validate_destination(_url(address), addresses=AddressPolicy()) == _url(address)
