"""Wiring of the worker function: the delivery service, built once per process from the settings."""

from __future__ import annotations

from functools import cache

from functions.delivery.http import HttpSender
from functions.delivery.queue import SqsDeliveryQueue
from functions.delivery.service import DeliveryPolicy, DeliveryService
from functions.dlq.repository import DlqRepository
from functions.messages.repository import MessageRepository
from functions.shared.config import get_settings
from functions.shared.secrets import get_json_secret


def current_signing_key() -> str:
    settings = get_settings()
    return str(get_json_secret(settings.signing_keys_secret_id, settings.secret_cache_seconds)["current"])


@cache
def delivery_service() -> DeliveryService:
    settings = get_settings()
    return DeliveryService(
        messages=MessageRepository(settings.messages_table),
        dlq=DlqRepository(settings.dlq_table),
        queue=SqsDeliveryQueue(settings.delivery_queue_url),
        sender=HttpSender(),
        policy=DeliveryPolicy(
            attempt_timeout_s=settings.attempt_timeout_seconds,
            claim_lease_s=settings.claim_lease_seconds,
            retention_s=settings.message_retention_seconds,
            dlq_retention_s=settings.dlq_retention_seconds,
        ),
        signing_key=current_signing_key,
    )
