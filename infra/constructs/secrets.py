"""Secrets Manager secrets: the API token(s) and the keys that sign deliveries. Values are generated, never in code."""

from __future__ import annotations

import json

from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

GENERATED_LENGTH = 48


class ServiceSecrets(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # {"token": ...}; the API also accepts a `tokens` list, added by hand to rotate without downtime.
        self.api_token = secretsmanager.Secret(
            self,
            "ApiToken",
            description="Postbox API token: JSON {token, tokens?}",
            generate_secret_string=_generated_json_key("token"),
        )
        # {"current": ...}. Secrets Manager generates a single key; `next` is added by the keys API on first
        # rotation (issue 3). The worker signs with `current` only.
        self.signing_keys = secretsmanager.Secret(
            self,
            "SigningKeys",
            description="Postbox delivery signing keys: JSON {current, next?}",
            generate_secret_string=_generated_json_key("current"),
        )


def _generated_json_key(key: str) -> secretsmanager.SecretStringGenerator:
    return secretsmanager.SecretStringGenerator(
        secret_string_template=json.dumps({}),
        generate_string_key=key,
        password_length=GENERATED_LENGTH,
        exclude_punctuation=True,
    )
