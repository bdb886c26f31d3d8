"""Secrets (API tokens, signing keys) from Secrets Manager through Powertools Parameters, cached per process."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from functions.shared import aws


@cache
def _provider() -> SecretsProvider:
    return SecretsProvider(boto3_client=aws.secretsmanager())


def get_json_secret(secret_id: str, max_age: int, *, force_fetch: bool = False) -> dict[str, Any]:
    raw = _provider().get(secret_id, max_age=max_age, force_fetch=force_fetch)
    value = json.loads(raw if isinstance(raw, str) else bytes(raw).decode())  # type: ignore[arg-type]
    if not isinstance(value, dict):
        raise ValueError(f"secret {secret_id} must hold a JSON object")
    return value


def reset_secrets() -> None:
    """Drop the provider and its cache (tests, and local mode after it rewrites a secret)."""
    _provider.cache_clear()
