"""Worker function: SQS delivery-queue batches -> delivery service, reporting partial batch failures.

The records of a batch are delivered concurrently (each in a thread), so the slowest destination, not the sum
of all of them, bounds the batch's duration.
"""

from __future__ import annotations

# ruff: noqa: E402 - the imports follow gc.disable()
import gc

_collecting = gc.isenabled()
gc.disable()  # no garbage collections while the function's modules load: a fifth of its cold start (see the end)

import asyncio
import contextvars
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from functions.core.models import DeliveryTask
from functions.shared.config import get_settings
from functions.shared.observability import count, logger, metrics, tracer
from functions.shared.resources import DELIVERY_BATCH_SIZE
from functions.worker.root import worker_root


class _Invocation(threading.local):
    """What a batch's processing holds: its batch processor (which keeps the batch's records and outcomes) and its
    delivery threads. One per thread calling the handler: Lambda calls it from one thread at a time; local mode
    runs several batches at once, as the event source does, each in its own thread."""

    def __init__(self) -> None:
        # A batch whose every record failed is reported like any other (each record back to the queue), not
        # raised: a Lambda error would set off the worker-errors alarm, which means a crash or a timeout, for an
        # ordinary failure.
        self.processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        # One thread per record of the largest batch the event source sends, so a batch of slow destinations is
        # delivered in one wave: asyncio's default executor has min(32, cpus + 4) threads, 6 on a 2-vCPU Lambda.
        self.delivery_threads = ThreadPoolExecutor(max_workers=DELIVERY_BATCH_SIZE, thread_name_prefix="delivery")


_invocation = _Invocation()


def scheduled_time_ms(value: object) -> int:
    """Scheduler's `<aws.scheduler.scheduled-time>` (ISO 8601, UTC) in unix ms; now when absent."""
    if isinstance(value, str) and value:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    return time.time_ns() // 1_000_000


class PoisonRecordError(Exception):
    """A record that is not a delivery task: after the queue's max receives it moves to the redrive queue."""


def handle_record(record: SQSRecord) -> str:
    try:
        task = DeliveryTask.model_validate_json(record.body)
    except ValidationError as exc:
        logger.error(
            "poison record",
            sqs_message_id=record.message_id,
            receive_count=record.attributes.approximate_receive_count,
        )
        raise PoisonRecordError(f"record {record.message_id} is not a delivery task") from exc
    try:
        outcome = worker_root().delivery.process(task)
    except Exception:
        # Reported as this record's failure (the batch goes on); the record comes back after the visibility
        # timeout. Logged here, as the batch processor itself does not say why.
        logger.exception("record failed, it will be received again", message_id=task.message_id)
        raise
    count(f"Delivery_{outcome.value}")
    return outcome.value


async def record_handler(record: SQSRecord) -> str:
    context = contextvars.copy_context()  # what `asyncio.to_thread` does, on a pool sized for a whole batch
    threads = _invocation.delivery_threads  # the records' coroutines run in the thread that called the handler
    return await asyncio.get_running_loop().run_in_executor(threads, context.run, handle_record, record)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse | dict[str, int]:
    if event.get("sweep"):  # the recurring sweep schedule, not an SQS batch
        return {"requeued": worker_root().delivery.sweep(get_settings().sweep_grace_seconds)}
    if "schedule" in event:  # a cron schedule's trigger
        fired = worker_root().schedules.fire(str(event["schedule"]), scheduled_time_ms(event.get("scheduledTime")))
        return {"published": len(fired)}
    return async_process_partial_response(
        event=event, record_handler=record_handler, processor=_invocation.processor, context=context
    )


if _collecting:  # the modules are loaded
    gc.enable()
