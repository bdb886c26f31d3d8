"""Signing keys: `current` signs deliveries; receivers also accept `next`, so rotation never breaks them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from functions.delivery.signing import new_signing_key
from functions.shared import aws
from functions.shared.secrets import get_json_secret, reset_secrets

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


@dataclass(frozen=True)
class SigningKeys:
    current: str
    next: str


class SigningKeyStore:
    """The signing keys secret (`{"current", "next"}`); a secret with only `current` gets its `next` on first use."""

    def __init__(
        self,
        secret_id: str,
        client: SecretsManagerClient | None = None,
        new_key: Callable[[], str] = new_signing_key,
    ) -> None:
        self.secret_id = secret_id
        self._client = client
        self.new_key = new_key

    @property
    def client(self) -> SecretsManagerClient:
        return self._client or aws.secretsmanager()

    def get(self) -> SigningKeys:
        stored = get_json_secret(self.secret_id, max_age=0, force_fetch=True)  # keys are read fresh, not cached
        current, upcoming = stored.get("current"), stored.get("next")
        if not current:
            raise ValueError(f"secret {self.secret_id} has no current signing key")
        if not upcoming:
            return self._put(SigningKeys(current=str(current), next=self.new_key()))
        return SigningKeys(current=str(current), next=str(upcoming))

    def rotate(self) -> SigningKeys:
        """current <- next, next <- a new key. Receivers that know both keys verify before and after."""
        keys = self.get()
        return self._put(SigningKeys(current=keys.next, next=self.new_key()))

    def _put(self, keys: SigningKeys) -> SigningKeys:
        self.client.put_secret_value(
            SecretId=self.secret_id, SecretString=json.dumps({"current": keys.current, "next": keys.next})
        )
        reset_secrets()  # this process reads the new value from now on
        return keys
