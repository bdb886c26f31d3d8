"""Turning a publish request (destination path, headers, body) into a message. No AWS types here."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from functions.core.durations import MAX_DELAY_S, parse_duration
from functions.core.models import CallbackOptions, MessageRequest, Redaction
from functions.core.redaction import body_digest
from functions.delivery.expressions import ExpressionError, compile_retry_delay
from functions.flow.parsing import parse_flow_control
from functions.shared.errors import BadRequestError, PayloadTooLargeError
from functions.shared.ssrf import AddressPolicy, is_localhost_name, literal_address

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
FORWARD_PREFIX = "upstash-forward-"
CALLBACK_PREFIXES = {"callback": "upstash-callback-", "failure callback": "upstash-failure-callback-"}
_CALLBACK_CONFIG = ("method", "timeout", "retries", "retry-delay", "delay")
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_COLLAPSED_SCHEME = re.compile(r"^(https?):/(?!/)", re.IGNORECASE)
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # every control character but HTAB
_REDACTED_HEADER = re.compile(r"headers?\[(?P<name>[^\]]+)\]", re.IGNORECASE)
# Deduplication ids Postbox makes itself (a schedule's tick): no client may send one, to claim a tick before it fires.
INTERNAL_DEDUP_PREFIX = "postbox:"
MAX_LABEL_LENGTH = 256
MAX_LABELS = 10
MAX_URL_LENGTH = 4096
MAX_HEADER_BYTES = 16 * 1024
# Query parameters that configure Postbox rather than belong to the destination.
_OWN_QUERY_PARAMS = ("qstash_token", "upstash-")


@dataclass(frozen=True)
class PublishLimits:
    default_retries: int
    max_retries: int
    max_body_bytes: int
    addresses: AddressPolicy  # the SSRF guard's policy: which literal addresses a destination may name
    max_timeout_s: float = 120.0


def destination_from_path(path_tail: str, raw_query: str) -> str:
    """Rebuild the destination URL from the raw path after `/v2/publish/` and the raw query string.

    SDKs put the destination into the path unencoded, so its own query arrives as the request's query.
    A proxy may collapse `https://` to `https:/`; an encoded destination (`https%3A%2F%2F...`) is accepted too.
    """
    tail = path_tail
    if tail[:8].lower().startswith(("http%3a", "https%3a")):
        tail = unquote(tail)
    tail = _COLLAPSED_SCHEME.sub(lambda m: f"{m.group(1)}://", tail)
    kept = [
        (k, v) for k, v in parse_qsl(raw_query, keep_blank_values=True) if not k.lower().startswith(_OWN_QUERY_PARAMS)
    ]
    if kept and len(kept) == len(parse_qsl(raw_query, keep_blank_values=True)):
        return f"{tail}?{raw_query}"  # nothing of ours in it: keep the destination's query byte for byte
    return f"{tail}?{urlencode(kept)}" if kept else tail


_GROUP_NAME = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def is_group_name(destination: str) -> bool:
    """A publish destination that is not a URL but a URL group's name (`orders`, `my.group`)."""
    return bool(_GROUP_NAME.match(destination))


def validate_destination(url: str, *, addresses: AddressPolicy) -> str:
    """Return the URL if it is an absolute http(s) URL Postbox may call, else raise BadRequestError.

    A host that is an address literally (in any form a resolver reads) is checked against the SSRF policy here;
    a name is checked when the worker connects, against every address it resolves to then."""
    if not url or any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        raise BadRequestError("invalid destination: must be an absolute http(s) URL")
    if len(url) > MAX_URL_LENGTH:
        raise BadRequestError(f"invalid destination: at most {MAX_URL_LENGTH} characters")
    authority = url.partition("//")[2]
    authority = re.split(r"[/?#]", authority, maxsplit=1)[0]
    if any(ch in "\\%" or not ch.isascii() for ch in authority):  # parsers disagree on what such a host is
        raise BadRequestError("invalid destination: its host part may not hold '\\', '%' or non-ASCII characters")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        _ = parts.port  # raises ValueError for a bad port
        sent_to = parse_url(url).host  # the sender's parser must read the same host
    except (ValueError, LocationParseError) as exc:
        raise BadRequestError(f"invalid destination URL: {exc}") from exc
    if hostname and (sent_to or "").strip("[]").lower() != hostname.lower():
        raise BadRequestError(f"invalid destination {url!r}: its host is ambiguous")
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        raise BadRequestError(f"invalid destination {url!r}: must be an absolute http(s) URL")
    address = literal_address(hostname)
    if address is None and is_localhost_name(hostname):
        address = ipaddress.IPv4Address("127.0.0.1")
    reason = addresses.refusal(address) if address is not None else None
    if reason:
        raise BadRequestError(f"invalid destination {url!r}: {reason} addresses are not allowed")
    return url


def canonical_header_name(name: str) -> str:
    """`x-foo-bar` -> `X-Foo-Bar`, as Go's CanonicalHeaderKey (and so QStash) spells it."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def forwarded_headers(
    headers: Mapping[str, str], prefix: str = FORWARD_PREFIX, skip: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    """Headers named `<prefix><Name>`, as `{Name: [values]}` (canonical names); names in `skip` are config."""
    forwarded: dict[str, list[str]] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered.startswith(prefix):
            target = lowered[len(prefix) :]
            if prefix != FORWARD_PREFIX and target.startswith("forward-"):
                target = target[len("forward-") :]
            elif target in skip:
                continue
            if not target or not _HEADER_NAME.match(target):
                raise BadRequestError(f"invalid forwarded header name {name!r}")
            if is_reserved_header(target):
                raise BadRequestError(f"header {canonical_header_name(target)!r} cannot be forwarded ({name!r})")
            forwarded.setdefault(canonical_header_name(target), []).append(sendable_value(name, value))
    return forwarded


# Headers a destination must never get from a publisher: the request's framing and hop-by-hop headers (a forwarded
# `Content-Length` would let the body smuggle a second request onto Postbox's connection) and Postbox's own
# `Upstash-*` ones (a forwarded `Upstash-Signature` could pass for Postbox's).
_RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade", "expect"}
)
_RESERVED_PREFIXES = ("proxy-", "upstash-")


def is_reserved_header(name: str) -> bool:
    """Whether `name` may not be forwarded, however it is spelled (case, `_` for `-`: some servers read
    `Upstash_Signature` as `Upstash-Signature`)."""
    folded = name.lower().replace("_", "-")
    return folded in _RESERVED_HEADERS or folded.startswith(_RESERVED_PREFIXES)


def sendable_value(name: str, value: str) -> str:
    """A header value that can be sent as it is: Latin-1 (HTTP's octets), and no control character but HTAB."""
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise BadRequestError(f"invalid value for header {name!r}: only Latin-1 characters can be sent") from None
    if _CONTROL.search(value):
        raise BadRequestError(f"invalid value for header {name!r}: control characters cannot be sent")
    return value


def _bool_header(headers: Mapping[str, str], name: str) -> bool:
    raw = headers.get(name)
    if raw is None:
        return False
    if raw.strip().lower() not in ("true", "false"):
        raise BadRequestError(f"invalid {canonical_header_name(name)} header {raw!r}: expected true or false")
    return raw.strip().lower() == "true"


def _retries(headers: Mapping[str, str], name: str, limits: PublishLimits) -> int | None:
    retries = _int_header(headers, name)
    if retries is not None and not 0 <= retries <= limits.max_retries:
        raise BadRequestError(
            f"invalid {canonical_header_name(name)} {retries}: must be between 0 and {limits.max_retries}"
        )
    return retries


def _timeout(headers: Mapping[str, str], name: str, limits: PublishLimits) -> float | None:
    if name not in headers:
        return None
    seconds = parse_duration(headers[name], canonical_header_name(name))
    if seconds <= 0:
        raise BadRequestError(f"invalid {canonical_header_name(name)}: must be at least 1s")
    return min(float(seconds), limits.max_timeout_s)  # can only shorten the configured maximum


def _retry_delay(headers: Mapping[str, str], name: str) -> str | None:
    source = headers.get(name)
    if source is None:
        return None
    try:
        compile_retry_delay(source)
    except ExpressionError as exc:
        raise BadRequestError(f"invalid {canonical_header_name(name)} {source!r}: {exc}") from exc
    return source.strip()


def _method(headers: Mapping[str, str], name: str) -> str:
    method = headers.get(name, "POST").strip().upper()
    if method not in METHODS:
        raise BadRequestError(
            f"invalid {canonical_header_name(name)} {method!r}: expected one of {', '.join(sorted(METHODS))}"
        )
    return method


def _callback(headers: Mapping[str, str], kind: str, limits: PublishLimits) -> CallbackOptions | None:
    prefix = CALLBACK_PREFIXES[kind]
    base = prefix.rstrip("-")
    url = headers.get(base)
    configured = [name for name in headers if name.startswith(prefix)]
    if url is None:
        if configured:
            raise BadRequestError(f"{canonical_header_name(configured[0])} needs {canonical_header_name(base)}")
        return None
    if f"{prefix}delay" in headers:
        raise BadRequestError(f"{canonical_header_name(prefix + 'delay')} is not supported: callbacks are not delayed")
    return CallbackOptions(
        url=validate_destination(url.strip(), addresses=limits.addresses),
        method=_method(headers, f"{prefix}method"),
        header=forwarded_headers(headers, prefix, skip=_CALLBACK_CONFIG),
        retries=_retries(headers, f"{prefix}retries", limits),
        timeout_s=_timeout(headers, f"{prefix}timeout", limits),
        retry_delay=_retry_delay(headers, f"{prefix}retry-delay"),
    )


def content_dedup_id(url: str, body: bytes, content_type: str | None, header: Mapping[str, list[str]]) -> str:
    """Upstash-Content-Based-Deduplication: the same destination, body, Content-Type and forwarded headers."""
    digest = hashlib.sha256()
    for part in (url.encode(), (content_type or "").encode(), json.dumps(sorted(header.items())).encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return f"content-{digest.hexdigest()}"


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    text = raw.strip()
    if not _INTEGER.fullmatch(text):  # ASCII digits only (`²` is a digit to str.isdigit, not to int)
        raise BadRequestError(f"invalid {canonical_header_name(name)} header {raw!r}: expected an integer")
    return int(text)


def build_message(
    *,
    message_id: str,
    destination: str,
    headers: Mapping[str, str],
    body: bytes,
    caller_ip: str | None,
    now_ms: int,
    limits: PublishLimits,
) -> MessageRequest:
    """Validate a publish request and build the message it asks for. `headers` keys are lower case."""
    url = validate_destination(destination, addresses=limits.addresses)
    if len(body) > limits.max_body_bytes:
        raise PayloadTooLargeError(f"body of {len(body)} bytes exceeds the limit of {limits.max_body_bytes} bytes")

    method = _method(headers, "upstash-method")
    retries = _retries(headers, "upstash-retries", limits)
    if retries is None:
        retries = limits.default_retries

    not_before_s = _int_header(headers, "upstash-not-before")
    if not_before_s is not None:
        if not_before_s < 0:
            raise BadRequestError("invalid Upstash-Not-Before: must be a unix timestamp in seconds")
        not_before_ms = max(now_ms, not_before_s * 1000)
    elif "upstash-delay" in headers:
        not_before_ms = now_ms + parse_duration(headers["upstash-delay"], "Upstash-Delay") * 1000
    else:
        not_before_ms = now_ms
    if not_before_ms - now_ms > MAX_DELAY_S * 1000:
        raise BadRequestError(f"invalid Upstash-Not-Before: at most {MAX_DELAY_S // 86400} days ahead")

    header = forwarded_headers(headers)
    content_type = sendable_value("Content-Type", headers["content-type"]) if headers.get("content-type") else None
    dedup_id = (headers.get("upstash-deduplication-id") or "").strip() or None
    if dedup_id is not None and dedup_id.startswith(INTERNAL_DEDUP_PREFIX):
        raise BadRequestError(f"invalid Upstash-Deduplication-Id: {INTERNAL_DEDUP_PREFIX!r} ids are Postbox's own")
    if dedup_id is None and _bool_header(headers, "upstash-content-based-deduplication"):
        dedup_id = content_dedup_id(url, body, content_type, header)
    if dedup_id is not None and len(dedup_id) > 512:
        raise BadRequestError("invalid Upstash-Deduplication-Id: at most 512 characters")
    message = MessageRequest(
        message_id=message_id,
        url=url,
        method=method,
        header=header,
        body=body,
        content_type=content_type,
        max_retries=retries,
        not_before_ms=not_before_ms,
        created_at_ms=now_ms,
        caller_ip=caller_ip,
        labels=parse_labels(headers.get("upstash-label")),
        retry_delay=_retry_delay(headers, "upstash-retry-delay"),
        timeout_s=_timeout(headers, "upstash-timeout", limits),
        callback=_callback(headers, "callback", limits),
        failure_callback=_callback(headers, "failure callback", limits),
        dedup_id=dedup_id,
        flow_control=parse_flow_control(
            headers.get("upstash-flow-control-key"), headers.get("upstash-flow-control-value")
        ),
        redact=parse_redaction(headers.get("upstash-redact-fields"), body),
    )
    if _header_bytes(message) > MAX_HEADER_BYTES:  # they are stored with the message, its log entries, its callbacks
        raise BadRequestError(f"the headers to send (forwarded, and the callbacks') exceed {MAX_HEADER_BYTES} bytes")
    return message


def _header_bytes(message: MessageRequest) -> int:
    maps = [message.header, *(c.header for c in (message.callback, message.failure_callback) if c is not None)]
    return sum(len(name) + len(value) for header in maps for name, values in header.items() for value in values)


def parse_labels(value: str | None) -> tuple[str, ...]:
    """`Upstash-Label: a,b`: the message's labels, in order, each once (a label holds no comma)."""
    labels = tuple(dict.fromkeys(part.strip() for part in (value or "").split(",") if part.strip()))
    if any(len(label) > MAX_LABEL_LENGTH for label in labels) or len(labels) > MAX_LABELS:
        raise BadRequestError(
            f"invalid Upstash-Label: at most {MAX_LABELS} labels of at most {MAX_LABEL_LENGTH} characters"
        )
    return labels


def parse_redaction(value: str | None, body: bytes) -> Redaction | None:
    """`Upstash-Redact-Fields: body,header[Authorization]`: `body`, `header` (or `headers`) for every header, or
    `header[Name]` (`headers[Name]`) for one."""
    if value is None:
        return None
    redact_body = all_headers = False
    names: set[str] = set()
    for part in filter(None, (p.strip() for p in value.split(","))):
        match = _REDACTED_HEADER.fullmatch(part)
        if part.lower() == "body":
            redact_body = True
        elif part.lower() in ("header", "headers"):
            all_headers = True
        elif match and _HEADER_NAME.match(match["name"]):
            names.add(canonical_header_name(match["name"]))
        else:
            raise BadRequestError(f"invalid Upstash-Redact-Fields part {part!r}: expected body, header or header[Name]")
    if not (redact_body or all_headers or names):
        return None
    return Redaction(
        body_sha256=body_digest(body) if redact_body else None,
        all_headers=all_headers,
        headers=frozenset() if all_headers else frozenset(names),
    )
