"""Secrets Manager secrets: the API token(s) and the keys that sign deliveries. Values are generated, never in code."""

from __future__ import annotations

import json

from aws_cdk import aws_secretsmanager as secretsmanager
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

GENERATED_LENGTH = 48


class ServiceSecrets(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # {"token": ...}; the API also accepts a `tokens` list (to rotate without downtime) and read-only tokens
        # (`readOnlyToken`, `readOnlyTokens`), added by hand: Secrets Manager generates one value per secret.
        self.api_token = secretsmanager.Secret(
            self,
            "ApiToken",
            description="Postbox API token: JSON {token, tokens?, readOnlyToken?, readOnlyTokens?}",
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
        # Both are rotated by Postbox's own scheme, which a Secrets Manager rotation function would break.
        NagSuppressions.add_resource_suppressions(
            self.api_token,
            [
                NagPackSuppression(
                    id="AwsSolutions-SMG4",
                    reason=(
                        "The API token is held by the clients (QSTASH_TOKEN): rotating it on a timer would lock them "
                        "out. It is rotated by hand without downtime: add the new token to the secret's `tokens` "
                        "list, move the clients, then remove the old one."
                    ),
                )
            ],
        )
        NagSuppressions.add_resource_suppressions(
            self.signing_keys,
            [
                NagPackSuppression(
                    id="AwsSolutions-SMG4",
                    reason=(
                        "Signing keys follow QStash's current/next scheme: receivers verify with both keys, and "
                        "POST /v2/keys/rotate promotes `next` and makes a new one. A rotation function replacing the "
                        "value would change the key receivers verify with, without telling them."
                    ),
                )
            ],
        )


def _generated_json_key(key: str) -> secretsmanager.SecretStringGenerator:
    return secretsmanager.SecretStringGenerator(
        secret_string_template=json.dumps({}),
        generate_string_key=key,
        password_length=GENERATED_LENGTH,
        exclude_punctuation=True,
    )
