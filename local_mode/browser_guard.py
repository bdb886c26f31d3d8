"""What keeps web pages from driving local mode. Local mode listens on 127.0.0.1 next to the developer's browser,
and its token is by default the QStash dev server's, which any page can know: so a request a browser sends on a
page's behalf is refused, unless its origin was allowed (POSTBOX_ALLOWED_ORIGINS).

- The `Host` must be a loopback name: a page whose own name resolves to 127.0.0.1 (DNS rebinding) is refused.
- A request a browser marks as from another site (`Sec-Fetch-Site: cross-site` or `same-site`), or whose
  `Origin` is not the server's own, is refused: a "simple" cross-site POST needs no CORS preflight, so answering
  without CORS headers is not enough.
- The `?qstash_token=` query token is taken on GET only (a URL is what a page can make a browser send).

Clients that are not browsers (the SDKs, the CLI, curl) send none of these headers, and pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_BROWSER_SITES = frozenset({"cross-site", "same-site"})
_SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class BrowserGuard:
    port: int
    allowed_origins: frozenset[str] = field(default_factory=frozenset)
    query_token: str | None = "qstash_token"  # None: the server takes no query token at all

    @classmethod
    def of(
        cls, port: int, allowed_origins: Iterable[str] = (), query_token: str | None = "qstash_token"
    ) -> BrowserGuard:
        origins = frozenset(o.strip().rstrip("/").lower() for o in allowed_origins if o.strip())
        return cls(port, origins, query_token)

    @property
    def own_origins(self) -> frozenset[str]:
        return frozenset(f"http://{name}:{self.port}" for name in LOOPBACK_NAMES)

    def refusal(self, method: str, target: str, headers: Mapping[str, str]) -> tuple[int, str] | None:
        """The status and reason the request is refused with (403; 401 for a query token on a write), or None.
        `headers` by lower-case name."""
        host = headers.get("host")
        if host is not None and host.strip().lower() not in {f"{n}:{self.port}" for n in LOOPBACK_NAMES} | set(
            LOOPBACK_NAMES
        ):
            return 403, f"local mode answers only requests to a loopback name (Host {host!r} is not one)"
        origin = (headers.get("origin") or "").strip().rstrip("/").lower()
        allowed = origin in self.allowed_origins
        if origin and origin not in self.own_origins and not allowed:
            return 403, f"requests from web pages of {origin} are refused (POSTBOX_ALLOWED_ORIGINS allows an origin)"
        if (headers.get("sec-fetch-site") or "").strip().lower() in _BROWSER_SITES and not allowed:
            return 403, "requests a browser sends for another site are refused (POSTBOX_ALLOWED_ORIGINS allows one)"
        if self.query_token and method.upper() not in _SAFE_METHODS:
            query = target.partition("?")[2]
            if any(name == self.query_token for name, _ in parse_qsl(query, keep_blank_values=True)):
                return 401, f"local mode takes ?{self.query_token}= on GET requests only: send Authorization: Bearer"
        return None
