"""Wiring of the worker function: the delivery service, built once per process from the settings."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from functions.delivery.http import HttpSender
from functions.delivery.service import DeliveryPolicy, DeliveryService
from functions.flow.limiter import FlowLimiter
from functions.flow.repository import FlowRepository
from functions.shared.config import get_settings
from functions.shared.secrets import get_json_secret
from functions.wiring import (
    build_message_service,
    build_queue_service,
    build_schedule_service,
    delivery_queue,
    dispatcher,
    repositories,
)

if TYPE_CHECKING:
    from functions.schedules.service import ScheduleService


def current_signing_key() -> str:
    settings = get_settings()
    return str(get_json_secret(settings.signing_keys_secret_id, settings.secret_cache_seconds)["current"])


@cache
def delivery_service() -> DeliveryService:
    settings = get_settings()
    messages, dlq = repositories(settings)
    return DeliveryService(
        messages=messages,
        dlq=dlq,
        queue=delivery_queue(settings),
        sender=HttpSender(settings.address_policy),
        policy=DeliveryPolicy(
            attempt_timeout_s=settings.max_attempt_timeout_seconds,
            default_timeout_s=settings.attempt_timeout_seconds,
            claim_margin_s=settings.claim_margin_seconds,
            retention_s=settings.message_retention_seconds,
            dlq_retention_s=settings.dlq_retention_seconds,
        ),
        signing_key=current_signing_key,
        dispatcher=dispatcher(settings, messages),
        flows=FlowLimiter(FlowRepository(settings.counters_table)),
    )


@cache
def schedule_service() -> ScheduleService:
    settings = get_settings()
    return build_schedule_service(settings, build_message_service(settings), build_queue_service(settings).ensure)
