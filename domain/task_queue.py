"""The attempt side of the task queue (DESIGN §4): a recorded attempt settles the entry.

Runs inside record_attempt's transaction, under its per-user lock. With a lease token, the
attempt completes that reservation if it still holds; a stale token (expired, superseded,
released, already completed, unknown, another task's) is reported, and the attempt, which
stays recorded, is then a fact about its task like one without a token: it settles the
task's entry, unless another holder has a live reservation of the task (that holder's
attempt settles it, from the task's whole history). Without a token the attempt settles
whatever entry the task has. Settling = the open entries are done, then
the course's policy (domain.retry_policy) says whether the task comes back and when.

Due times count from when attempts happened (``occurredAt``), never from when the server
received them, and the policy sees the task as all its attempts leave it (solved by any
of them, its latest failure): a late failure dated before a solve reopens nothing, and the
order an offline sync arrives in does not change the queue.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from db import queue_queries as q
from db import raw
from domain import retry_policy

LEASE_EXPIRED = "LEASE_EXPIRED"
LEASE_TASK_MISMATCH = "LEASE_TASK_MISMATCH"


@dataclass(frozen=True, slots=True)
class Lease:
    """The entry a lease token points at, as far as fencing cares."""

    task_id: uuid.UUID
    state: str
    visibility_timeout_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> "Lease":
        return cls(row.task_id, row.state, row.visibility_timeout_at)


def lease_problem(lease: Lease | None, *, task_id: uuid.UUID | None, now: datetime) -> str | None:
    """Why a token's holder may not act on the entry at ``now`` (None: the lease holds).

    A lease holds while its entry is reserved and ``now`` is before the visibility timeout;
    a token that points at nothing was superseded by a later reservation, released, or
    never issued to this learner. ``task_id`` (when given) must be the entry's task.
    """
    if lease is None or lease.state != "reserved" or lease.visibility_timeout_at is None:
        return LEASE_EXPIRED
    if now >= lease.visibility_timeout_at:
        return LEASE_EXPIRED
    if task_id is not None and lease.task_id != task_id:
        return LEASE_TASK_MISMATCH
    return None


async def settle_attempt(
    conn: raw.Connection,
    *,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    course_id: uuid.UUID,
    solved: bool,
    failure_count: int,
    last_attempt_at: datetime,
    lease_token: uuid.UUID | None,
    now: datetime,
) -> str | None:
    """Fold an attempt into the queue; returns an error code when the lease no longer held.

    ``solved``: whether any attempt solved the task, this one included; ``failure_count``:
    the task's failures including this attempt; ``last_attempt_at``: when its latest
    attempt occurred (for an unsolved task, its latest failure), from which a retry delay
    counts; ``now``: the server time, which only fences the lease.
    """
    await q.lock_task(conn, user_id, task_id)
    problem = None
    if lease_token is not None:
        row = await q.get_lease(conn, user_id, lease_token)
        problem = lease_problem(Lease.from_row(row) if row else None, task_id=task_id, now=now)
        # A fenced attempt leaves another holder's live lease alone; otherwise the queue
        # would depend on whether the client sent a token.
        if problem is not None and await q.has_live_reservation(conn, user_id, task_id, now):
            return problem
    policy = retry_policy.policy_from_json(await q.get_course_policy(conn, course_id))
    history = (
        [
            retry_policy.Review(row.occurred_at, row.solved, row.tries)
            for row in await q.list_reviews(conn, user_id, task_id)
        ]
        if policy.wants_history
        else []
    )
    step = policy.next_step(
        solved=solved, failure_count=failure_count, history=history, now=last_attempt_at
    )
    # An expired marker stays while the task is still expired; any other outcome lifts it.
    await q.close_entries(conn, user_id, task_id, include_expired=step.state != "expired")
    if step.state != "done":
        await q.enqueue(
            conn,
            user_id=user_id,
            task_id=task_id,
            course_id=course_id,
            state=step.state,
            reason=step.reason or "retry",
            due_at=step.due_at or now,
            now=now,
        )
    return problem
