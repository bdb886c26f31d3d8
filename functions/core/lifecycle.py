"""The message lifecycle: its states, the transitions between them, each transition's guard and the state its log
entry records.

A guard is a list of checks. Each check is written once, as a DynamoDB condition on the state item and as the same
test on a `MessageStatus`: the stores write a transition as one conditional update whose condition is the guard's
expression, and the services evaluate the guard on a read first, to tell a stale record from a race without a
write. `record_fate` is the decision table for a delivery record whose claim the guard refuses.

    CREATED ──claim──> ACTIVE ──deliver──> DELIVERED
    RETRY   ──claim──> ACTIVE ──retry────> RETRY
                       ACTIVE ──fail─────> FAILED (and its DLQ entry)
    CREATED, RETRY ──cancel──> CANCELED
    ACTIVE ──request cancel──> ACTIVE, logged CANCEL_REQUESTED ──finish cancel──> CANCELED
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol

# SQS delays are whole seconds and not exact: a record may arrive up to this long before its delivery time.
NOT_BEFORE_SLACK_MS = 1000


class MessageState(StrEnum):
    """Lifecycle states, named as QStash's log names them."""

    CREATED = "CREATED"
    ACTIVE = "ACTIVE"
    RETRY = "RETRY"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    CANCEL_REQUESTED = "CANCEL_REQUESTED"  # logged only: the message stays ACTIVE, with `cancelRequested`
    CANCELED = "CANCELED"

    @property
    def is_final(self) -> bool:
        return self in FINAL


FINAL = frozenset({MessageState.DELIVERED, MessageState.FAILED, MessageState.CANCELED})
WAITING = frozenset({MessageState.CREATED, MessageState.RETRY})  # for its next attempt


class MessageStatus(Protocol):
    """What the guards read of a message's status (functions/core/models.py MessageStatus)."""

    @property
    def state(self) -> MessageState: ...
    @property
    def attempt(self) -> int: ...
    @property
    def next_delivery_at_ms(self) -> int: ...
    @property
    def claim_until_ms(self) -> int | None: ...
    @property
    def cancel_requested(self) -> bool: ...
    @property
    def queue_waiting(self) -> bool: ...


@dataclass(frozen=True)
class Facts:
    """What a guard is evaluated against besides the state: the attempt the caller holds, and the time."""

    attempt: int
    now_ms: int = 0


@dataclass(frozen=True)
class Check:
    """One term of a guard: `expression` on the state item (its placeholders' values from `values`), `test` on a
    status."""

    expression: str
    test: Callable[[MessageStatus, Facts], bool]
    values: Callable[[Facts], Mapping[str, Any]] = lambda facts: {}


def in_states(*states: MessageState) -> Check:
    placeholders = {f":state{state.value.title().replace('_', '')}": state.value for state in states}
    return Check(
        f"#state IN ({', '.join(placeholders)})",
        lambda status, facts: status.state in states,
        lambda facts: placeholders,
    )


SAME_ATTEMPT = Check("attempt = :attempt", lambda s, f: s.attempt == f.attempt, lambda f: {":attempt": f.attempt})
NO_CANCEL_REQUESTED = Check("attribute_not_exists(cancelRequested)", lambda s, f: not s.cancel_requested)
CANCEL_REQUESTED = Check("cancelRequested = :yes", lambda s, f: s.cancel_requested, lambda f: {":yes": True})
HAS_ITS_SLOT = Check("attribute_not_exists(queueWaiting)", lambda s, f: not s.queue_waiting)  # (or has no queue)
DUE = Check(
    "nextDeliveryAt <= :due",
    lambda s, f: s.next_delivery_at_ms <= f.now_ms + NOT_BEFORE_SLACK_MS,
    lambda f: {":due": f.now_ms + NOT_BEFORE_SLACK_MS},
)
# The attempt's lease ran out without an outcome (its worker died, or could not record it): it counts as failed.
LEASE_RAN_OUT = Check(
    "(attribute_not_exists(claimUntil) OR claimUntil < :leaseCheckedAt)",
    lambda s, f: (s.claim_until_ms or 0) < f.now_ms,
    lambda f: {":leaseCheckedAt": f.now_ms},
)


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[MessageState, ...]
    target: MessageState
    logged: MessageState  # the state its log entry records
    checks: tuple[Check, ...] = ()

    def allows(self, status: MessageStatus | None, facts: Facts) -> bool:
        """The guard, on a status read before the write (None: the message does not exist)."""
        return status is not None and all(check.test(status, facts) for check in self.guard)

    def condition(self, facts: Facts) -> tuple[str, dict[str, Any]]:
        """The guard as a conditional write's condition (`#state` names the `state` attribute) and the values of
        its placeholders."""
        expression = " AND ".join(check.expression for check in self.guard)
        return expression, {name: value for check in self.guard for name, value in check.values(facts).items()}

    def after_lease_ran_out(self) -> Transition:
        """The same transition, recording an attempt whose worker never did."""
        return replace(self, name=f"{self.name} (lease ran out)", checks=(*self.checks, LEASE_RAN_OUT))

    @property
    def guard(self) -> tuple[Check, ...]:
        return (in_states(*self.sources), SAME_ATTEMPT, *self.checks)

    @property
    def is_final(self) -> bool:
        return self.target.is_final


S = MessageState
CLAIM = Transition("claim", (S.CREATED, S.RETRY), S.ACTIVE, S.ACTIVE, (NO_CANCEL_REQUESTED, HAS_ITS_SLOT, DUE))
DELIVER = Transition("deliver", (S.ACTIVE,), S.DELIVERED, S.DELIVERED)
RETRY = Transition("retry", (S.ACTIVE,), S.RETRY, S.RETRY, (NO_CANCEL_REQUESTED,))  # a requested cancel wins
FAIL = Transition("fail", (S.ACTIVE,), S.FAILED, S.FAILED)
REQUEST_CANCEL = Transition("request cancel", (S.ACTIVE,), S.ACTIVE, S.CANCEL_REQUESTED, (NO_CANCEL_REQUESTED,))
CANCEL = Transition("cancel", (S.CREATED, S.RETRY), S.CANCELED, S.CANCELED)
FINISH_CANCEL = Transition("finish cancel", (S.CREATED, S.RETRY, S.ACTIVE), S.CANCELED, S.CANCELED, (CANCEL_REQUESTED,))
# Not a transition of its own: an ACTIVE attempt whose lease ran out is recorded as failed (retry or fail).
LOST_ATTEMPT = Transition("lost attempt", (S.ACTIVE,), S.ACTIVE, S.ACTIVE, (LEASE_RAN_OUT,))
TRANSITIONS = (CLAIM, DELIVER, RETRY, FAIL, REQUEST_CANCEL, CANCEL, FINISH_CANCEL)


class RecordFate(StrEnum):
    """What becomes of a delivery record whose claim was refused."""

    DROP_UNKNOWN = "drop_unknown"  # no such message
    FINISH_CANCEL = "finish_cancel"  # a cancel was requested during the attempt that failed: end it CANCELED
    RESEND_NEXT = "resend_next"  # the failed attempt's record came back: enqueue the retry and callbacks again
    RESEND_FOLLOW_UPS = "resend_follow_ups"  # the final outcome is recorded: enqueue its callbacks again
    DROP_STALE = "drop_stale"  # an older attempt's record, or the message is finished
    NOT_DUE = "not_due"  # early: send it again for the delivery time
    BUSY = "busy"  # another worker's claim on this attempt is live: retry the record later
    DROP = "drop"  # waiting for a queue slot (the dispatch sends it) or otherwise not claimable


def record_fate(status: MessageStatus | None, attempt: int, now_ms: int) -> RecordFate:  # noqa: PLR0911
    """The decision table for a record of `attempt` that cannot claim the message in `status`."""
    if status is None:
        return RecordFate.DROP_UNKNOWN
    waiting = status.state in WAITING
    if FINISH_CANCEL.allows(status, Facts(attempt)) and waiting:
        return RecordFate.FINISH_CANCEL
    if waiting and status.attempt == attempt + 1:
        return RecordFate.RESEND_NEXT
    if status.state.is_final and status.attempt == attempt:
        return RecordFate.RESEND_FOLLOW_UPS
    if status.attempt != attempt or status.state.is_final:
        return RecordFate.DROP_STALE
    if waiting and status.next_delivery_at_ms > now_ms:
        return RecordFate.NOT_DUE
    if status.state == MessageState.ACTIVE:
        return RecordFate.BUSY
    return RecordFate.DROP
