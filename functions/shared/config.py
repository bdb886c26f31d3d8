"""Configuration: every environment variable Postbox reads, validated once per process."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, field_validator

from functions.shared.resources import MAX_ATTEMPT_TIMEOUT_SECONDS
from functions.shared.ssrf import AddressPolicy


class Settings(BaseModel):
    """Runtime settings of the Lambda functions (and of local mode, which sets the same variables)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    messages_table: str = Field(alias="MESSAGES_TABLE", min_length=1)
    dlq_table: str = Field(alias="DLQ_TABLE", min_length=1)
    counters_table: str = Field(alias="COUNTERS_TABLE", min_length=1)
    topics_table: str = Field(alias="TOPICS_TABLE", min_length=1)
    queues_table: str = Field(alias="QUEUES_TABLE", min_length=1)
    schedules_table: str = Field(alias="SCHEDULES_TABLE", min_length=1)
    worker_function_arn: str = Field(
        "", alias="WORKER_FUNCTION_ARN", description="target of cron schedules (set on the API by the stack)"
    )
    max_queue_parallelism: int = Field(100, alias="MAX_QUEUE_PARALLELISM", ge=1)
    delivery_queue_url: str = Field(alias="DELIVERY_QUEUE_URL", min_length=1)
    auth_secret_id: str = Field(alias="AUTH_SECRET_ID", min_length=1, description="secret holding the API token(s)")
    signing_keys_secret_id: str = Field(alias="SIGNING_KEYS_SECRET_ID", min_length=1)
    bodies_bucket: str = Field(alias="BODIES_BUCKET", min_length=1)
    schedule_group: str = Field(alias="SCHEDULE_GROUP", min_length=1)
    scheduler_role_arn: str = Field(alias="SCHEDULER_ROLE_ARN", min_length=1)

    default_retries: int = Field(3, alias="DEFAULT_RETRIES", ge=0)
    max_retries: int = Field(20, alias="MAX_RETRIES", ge=0)
    attempt_timeout_seconds: float = Field(30.0, alias="ATTEMPT_TIMEOUT_SECONDS", gt=0)
    max_attempt_timeout_seconds: float = Field(
        MAX_ATTEMPT_TIMEOUT_SECONDS, alias="MAX_ATTEMPT_TIMEOUT_SECONDS", gt=0, le=MAX_ATTEMPT_TIMEOUT_SECONDS
    )
    max_body_bytes: int = Field(1024 * 1024, alias="MAX_BODY_BYTES", gt=0)
    # Above 4 KB a body costs less in S3 ($5.40 per million PUT + GET) than in a transactional DynamoDB write
    # (2 write units per KB at $0.625 per million): see the Performance section of the README.
    inline_body_bytes: int = Field(4 * 1024, alias="INLINE_BODY_BYTES", gt=0, le=300 * 1024)
    dedup_window_seconds: int = Field(600, alias="DEDUP_WINDOW_SECONDS", gt=0)
    message_retention_seconds: int = Field(3 * 86400, alias="MESSAGE_RETENTION_SECONDS", gt=0)
    dlq_retention_seconds: int = Field(7 * 86400, alias="DLQ_RETENTION_SECONDS", gt=0)
    log_retention_seconds: int = Field(7 * 86400, alias="LOG_RETENTION_SECONDS", gt=0)
    delivered_grace_seconds: int = Field(
        60, alias="DELIVERED_GRACE_SECONDS", ge=0, description="how long /v2/messages still shows a delivered message"
    )
    project_id: str = Field("proj_postbox", alias="PROJECT_ID", min_length=1)
    rate_limit_requests: int = Field(
        6000, alias="RATE_LIMIT_REQUESTS", ge=0, description="API requests per token per window; 0 disables"
    )
    rate_limit_window_seconds: int = Field(60, alias="RATE_LIMIT_WINDOW_SECONDS", gt=0)
    secret_cache_seconds: int = Field(300, alias="SECRET_CACHE_SECONDS", ge=0)
    allow_loopback_destinations: bool = Field(False, alias="ALLOW_LOOPBACK_DESTINATIONS")
    destinations_loopback_only: bool = Field(
        False,
        alias="DESTINATIONS_LOOPBACK_ONLY",
        description="deliver only to loopback addresses, resolving no other names (local mode's default)",
    )
    destination_allow_cidrs: tuple[str, ...] = Field(
        (),
        alias="DESTINATION_ALLOW_CIDRS",
        description="comma-separated CIDRs of private addresses Postbox may deliver to (e.g. 10.1.0.0/16)",
    )

    claim_margin_seconds: float = Field(30.0, alias="CLAIM_MARGIN_SECONDS", ge=0)
    sweep_grace_seconds: float = Field(
        1800, alias="SWEEP_GRACE_SECONDS", gt=0, description="overdue by this much, a message's record is lost"
    )

    @field_validator("destination_allow_cidrs", mode="before")
    @classmethod
    def _split_cidrs(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        AddressPolicy.from_settings(value, allow_loopback=False)  # type: ignore[arg-type]  # raises on a bad CIDR
        return value

    @property
    def address_policy(self) -> AddressPolicy:
        """Where deliveries and callbacks may connect (the SSRF guard)."""
        return AddressPolicy.from_settings(
            self.destination_allow_cidrs, self.allow_loopback_destinations, self.destinations_loopback_only
        )

    @property
    def claim_lease_seconds(self) -> float:
        """The longest a worker owns an attempt; an attempt whose lease ran out without an outcome counts as failed.

        It must stay below the delivery queue's visibility timeout, so that a record that reappears
        after a worker died finds the lease run out.
        """
        return self.max_attempt_timeout_seconds + self.claim_margin_seconds


@cache
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return Settings.model_validate(os.environ)
