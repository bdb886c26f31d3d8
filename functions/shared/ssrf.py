"""Which network addresses Postbox may deliver to: the SSRF guard's policy, plain data and no I/O.

A destination is refused when any address it names is not a public unicast address: loopback, private
(RFC 1918), link-local (the EC2 metadata service 169.254.169.254 and fd00:ec2::254 among them), carrier-grade
NAT, multicast, reserved, unspecified, documentation and benchmarking ranges, IPv6 unique-local and site-local,
and the IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) when the
address they carry is one of those. An allowlist of CIDRs overrides the refusal (an operator's private
services). Local mode allows loopback, and by default nothing else: with `loopback_only`, every other address is
refused too and names other than localhost are not even resolved, so no delivery leaves the machine.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_V4_REFUSED: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "reserved"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # includes the broadcast address
)
_V6_REFUSED: tuple[tuple[str, str], ...] = (
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "local-use NAT64"),  # RFC 8215: translates inside a site, wherever its IPv4 bits sit
    ("100::/64", "reserved"),  # discard-only
    ("2001::/23", "reserved"),  # IETF protocol assignments (Teredo is checked by the address it carries)
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "reserved"),
    ("fc00::/7", "unique-local"),  # includes the EC2 metadata service's fd00:ec2::254
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
_REFUSED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(cidr), reason) for cidr, reason in _V4_REFUSED + _V6_REFUSED
)
_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_TEREDO = ipaddress.ip_network("2001::/32")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the forms that carry one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _TEREDO and address.teredo is not None:
        return address.teredo[1]  # the client's address (the server's is public by definition)
    packed = address.packed
    if address in _NAT64:
        return ipaddress.IPv4Address(packed[-4:])
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # ::a.b.c.d (deprecated); :: and ::1 are themselves
        return ipaddress.IPv4Address(packed[-4:])
    return None


def is_localhost_name(host: str) -> bool:
    """Names that mean loopback by definition (RFC 6761): `localhost` and `*.localhost`."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


@dataclass(frozen=True)
class AddressPolicy:
    """Refuses non-public addresses, except those in `allowed` and, when `allow_loopback`, loopback; with
    `loopback_only` (local mode), refuses every address but loopback and those in `allowed`."""

    allowed: tuple[IPNetwork, ...] = ()
    allow_loopback: bool = False
    loopback_only: bool = False

    @classmethod
    def from_settings(
        cls, allowed_cidrs: Iterable[str], allow_loopback: bool, loopback_only: bool = False
    ) -> AddressPolicy:
        networks = tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in allowed_cidrs)
        return cls(networks, allow_loopback or loopback_only, loopback_only)

    def resolves(self, host: str) -> bool:
        """Whether a name may be looked up at all: not in loopback-only mode, where only localhost may."""
        return not self.loopback_only or is_localhost_name(host)

    def refusal(self, address: IPAddress | str) -> str | None:
        """Why Postbox must not connect to `address` (e.g. "private"), or None when it may."""
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        if self._allowed(ip):
            return None
        carried = embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
        if carried is not None and self._allowed(carried):
            return None
        reason = _reason(ip)
        if reason is None and carried is not None:
            inner = _reason(carried)
            reason = f"{inner}, as an IPv6 address" if inner else None
        if reason is None and self.loopback_only:
            return "non-loopback"
        return reason

    def _allowed(self, ip: IPAddress) -> bool:
        if any(ip.version == network.version and ip in network for network in self.allowed):
            return True
        return self.allow_loopback and any(ip.version == n.version and ip in n for n in _LOOPBACK)


def _reason(ip: IPAddress) -> str | None:
    for network, reason in _REFUSED:
        if ip.version == network.version and ip in network:
            return reason
    return None


_INET_ATON_CHARS = frozenset("0123456789abcdefx.")


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host names literally, or None for a DNS name. Besides the usual forms (`10.0.0.1`,
    `[::1]`) this reads the ones resolvers accept too (`127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1`)."""
    text = host.strip("[]").split("%", 1)[0].lower()
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if text and set(text) <= _INET_ATON_CHARS and text[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None
