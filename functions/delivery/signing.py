"""`Upstash-Signature`: an HS256 JWT over the exact body bytes, as QStash receivers verify it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _compact_json(value: Mapping[str, object]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def sign(*, key: str, url: str, body: bytes, now_s: int, lifetime_s: int = 300) -> str:
    """The JWT QStash sends: iss "Upstash", sub = destination URL, body = base64url(SHA-256(body)).

    The HMAC key is the raw UTF-8 bytes of the signing key string, as the official receivers use it.
    """
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {
        "iss": "Upstash",
        "sub": url,
        "iat": now_s,
        "nbf": now_s,
        "exp": now_s + lifetime_s,
        "jti": f"jwt_{secrets.token_hex(12)}",
        "body": _b64url(hashlib.sha256(body).digest()),
    }
    signing_input = f"{_b64url(_compact_json(header))}.{_b64url(_compact_json(claims))}"
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def new_signing_key() -> str:
    """A fresh key in QStash's format (`sig_` + 28 base58-like characters)."""
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    return "sig_" + "".join(secrets.choice(alphabet) for _ in range(28))
