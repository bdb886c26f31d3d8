"""Opaque cursors for paginated listings: the last returned key, base64url-encoded JSON."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from functions.shared.errors import BadRequestError


def encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


MAX_CURSOR_LENGTH = 512


def decode_cursor(cursor: str, expected_keys: set[str]) -> dict[str, Any]:
    """The key a cursor holds: exactly `expected_keys`, each a string; anything else is a 400."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise BadRequestError("invalid cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise BadRequestError("invalid cursor") from exc
    if not isinstance(key, dict) or set(key) != expected_keys or not all(isinstance(v, str) for v in key.values()):
        raise BadRequestError("invalid cursor")
    return key
