"""The message domain: what a published message is and the states it moves through."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from functions.core.lifecycle import MessageState


class FlowControl(BaseModel):
    """Flow control: per-key limits on deliveries in flight (parallelism) and started per period (rate)."""

    model_config = ConfigDict(frozen=True)

    key: str
    parallelism: int | None = None
    rate: int | None = None
    period_s: int = 1


class Redaction(BaseModel):
    """Upstash-Redact-Fields: the body, every header, or the headers named, are shown as `REDACTED:<sha256>` by
    the API (message, DLQ and log views); they are delivered as sent."""

    model_config = ConfigDict(frozen=True)

    body_sha256: str | None = Field(None, description="hex SHA-256 of the body when it is redacted")
    all_headers: bool = False
    headers: frozenset[str] = Field(frozenset(), description="canonical names of the redacted headers")


class CallbackOptions(BaseModel):
    """How the callback (or failure-callback) messages of a message are sent."""

    model_config = ConfigDict(frozen=True)

    url: str
    method: str = "POST"
    header: dict[str, list[str]] = Field(default_factory=dict)
    retries: int | None = Field(None, description="None: the source message's retries")
    timeout_s: float | None = None
    retry_delay: str | None = None


class MessageRequest(BaseModel):
    """What the publisher asked for: written once, never updated."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    url: str
    method: str = "POST"
    header: dict[str, list[str]] = Field(default_factory=dict, description="headers sent to the destination")
    body: bytes = b""
    content_type: str | None = None
    max_retries: int = 3
    not_before_ms: int
    created_at_ms: int
    caller_ip: str | None = None
    labels: tuple[str, ...] = Field((), description="Upstash-Label, split at its commas")
    retry_delay: str | None = Field(None, description="Upstash-Retry-Delay expression (ms, variable `retried`)")
    timeout_s: float | None = Field(None, description="per-attempt timeout; None: the configured default")
    callback: CallbackOptions | None = None
    failure_callback: CallbackOptions | None = None
    dedup_id: str | None = None
    replay_count: int = Field(0, description="how many times the message was replayed from the DLQ")
    callback_of: str | None = Field(None, description="for a callback message: the message it reports on")
    topic_name: str | None = Field(None, description="the URL group this message was fanned out from")
    queue_name: str | None = Field(None, description="the FIFO queue this message was enqueued to")
    schedule_id: str | None = Field(None, description="the schedule that published this message")
    flow_control: FlowControl | None = None
    endpoint_name: str | None = None
    body_ref: str | None = Field(None, description="where a body too large for the table is kept (claim check)")
    redact: Redaction | None = Field(None, description="Upstash-Redact-Fields: what the API never shows")

    @property
    def is_callback(self) -> bool:
        return self.callback_of is not None

    @property
    def label(self) -> str | None:
        """The first label (the SDKs' `label`; `labels` has them all)."""
        return self.labels[0] if self.labels else None


class MessageStatus(BaseModel):
    """Where a message stands: small, rewritten by every state change."""

    model_config = ConfigDict(frozen=True)

    state: MessageState
    attempt: int = Field(0, description="number of the next (or current) attempt; 0 = first; = Upstash-Retried")
    next_delivery_at_ms: int
    updated_at_ms: int
    claim_until_ms: int | None = None
    last_response_status: int | None = None
    last_error: str | None = None
    last_latency_ms: int | None = None
    dlq_id: str | None = None
    cancel_requested: bool = False
    follow_ups: tuple[str, ...] = Field((), description="callback messages created by the last transition")
    attempts: int = Field(0, description="attempts started so far (claims)")
    # Copies of the request's small attributes, for events and filters written from the state item alone.
    url: str = ""
    labels: tuple[str, ...] = ()
    caller_ip: str | None = None
    topic_name: str | None = None
    schedule_id: str | None = None
    method: str | None = None
    max_retries: int | None = None
    retry_delay: str | None = None
    queue_name: str | None = None
    queue_waiting: bool = Field(False, description="enqueued, waiting for a delivery slot of its queue")
    flow_control: FlowControl | None = None


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    request: MessageRequest
    status: MessageStatus


# What is kept of a destination's answer (AttemptResult.capped).
MAX_RESPONSE_HEADERS = 100
MAX_RESPONSE_HEADER_BYTES = 16 * 1024
MAX_RESPONSE_BODY_BYTES = 64 * 1024
MAX_ERROR_CHARS = 1024


class AttemptResult(BaseModel):
    """The outcome of one HTTP call to the destination."""

    model_config = ConfigDict(frozen=True)

    status: int | None = None
    header: dict[str, list[str]] = Field(default_factory=dict)
    body: bytes = b""
    error: str | None = None
    latency_ms: int = 0

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def capped(self) -> AttemptResult:
        """What Postbox keeps of an answer: at most MAX_RESPONSE_HEADERS header fields of MAX_RESPONSE_HEADER_BYTES
        in all, MAX_RESPONSE_BODY_BYTES of body and MAX_ERROR_CHARS of error, so that no write of an outcome (the
        message, its log entry, its DLQ entry, its callbacks) can exceed an item, whatever a destination answers."""
        header: dict[str, list[str]] = {}
        fields = size = 0
        for name, values in self.header.items():
            for value in values:
                size += len(name) + len(value)
                fields += 1
                if fields > MAX_RESPONSE_HEADERS or size > MAX_RESPONSE_HEADER_BYTES:
                    break
                header.setdefault(name, []).append(value)
        error = self.error[:MAX_ERROR_CHARS] if self.error else self.error
        body = self.body[:MAX_RESPONSE_BODY_BYTES]
        if (header, body, error) == (self.header, self.body, self.error):
            return self
        return self.model_copy(update={"header": header, "body": body, "error": error})


class DlqEntry(BaseModel):
    """A message whose retries are spent, with the last response it got."""

    model_config = ConfigDict(frozen=True)

    dlq_id: str
    request: MessageRequest
    response: AttemptResult
    created_at_ms: int


class DeliveryTask(BaseModel):
    """The body of a delivery-queue record: which message, and which attempt the record is for."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    message_id: str = Field(alias="messageId", min_length=1, max_length=64)
    attempt: int = Field(ge=0)


_DAY_S = 86400


def lifetime_end_ms(request: MessageRequest, retention_s: int) -> int:
    """When a message's items may expire at the latest: each retry waits at most a day, then retention."""
    return request.not_before_ms + ((request.max_retries + 1) * _DAY_S + retention_s) * 1000


class Queue(BaseModel):
    """A FIFO queue: its messages are delivered in order, at most `parallelism` at a time."""

    model_config = ConfigDict(frozen=True)

    name: str
    parallelism: int = 1
    paused: bool = False
    created_at_ms: int
    updated_at_ms: int
    in_flight: int = 0  # messages dispatched to delivery and not finished (each holds a slot)

    @property
    def free_slots(self) -> int:
        return 0 if self.paused else max(0, self.parallelism - self.in_flight)
