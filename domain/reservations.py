"""Reserving tasks from a learner's queue, extending and releasing reservations (DESIGN §4).

A course the learner paused is not served (reserve_tasks refuses it with COURSE_PAUSED,
the preview is empty): its entries stay as they are, with their due times, and attempts
keep settling them; resuming serves them again, those that fell due meanwhile at once.
Live reservations made before the pause keep their leases until they expire.

Serving order: due retries (priority desc, due time, content order), then due reviews, then
new tasks in content order; ``same_theme`` keeps a batch inside the theme of its first pick.
A reservation is an entry in state ``reserved`` with a lease token and a visibility
timeout; once that passes, the entry is reservable again (lazily, by the next reserver: no
sweeper) with ``deliveries`` + 1 and a new token, and the old token is refused.

Locking, and why not the per-user lock. Recording an attempt holds the learner's advisory
lock (attempt_queries.lock_user). Reserving under that lock would be simplest: one
learner's reservers would queue up behind each other and behind attempts, and disjoint
batches would follow trivially. But a reserver would then wait (for a batch of up to 100
attempts from an offline sync, for instance), and the queue's promise is that reserving
never blocks. So reservers do not take the user lock. They skip any task whose (learner,
task) lock another transaction holds, with ``pg_try_advisory_xact_lock``: the equivalent of
``FOR UPDATE SKIP LOCKED`` that also covers new tasks, which have no row to lock yet. Every
other writer of an entry (an attempt settling it, extend, release) waits for that pair lock
first; attempts take it after the user lock, reservers take nothing else that anyone waits
for, so there is no lock cycle and no deadlock. Disjointness then rests on the database,
not on the lock: an entry's unique index admits one open entry per (learner, task), and a
reserver that picked a task another reserver committed in the meantime meets its entry in
ON CONFLICT, re-checks it there, and skips it. Several reservers of ONE learner thus run in
parallel and get disjoint batches (tests/test_queue_concurrency.py runs eight of them).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from db import queue_queries as q
from domain import task_queue
from domain.errors import QueueRequestRejected

MAX_LIMIT = 50
DEFAULT_VISIBILITY_SECONDS = 15 * 60
MIN_VISIBILITY_SECONDS = 10
MAX_VISIBILITY_SECONDS = 12 * 3600
# Each extra pass takes a fresh snapshot; it is needed only when a pick lost a race.
MAX_PASSES = 5


@dataclass(frozen=True, slots=True)
class Reservation:
    """A task handed to the learner until ``expires_at``; ``lease_token`` fences its holder."""

    task_id: uuid.UUID
    reason: str
    lease_token: uuid.UUID
    expires_at: datetime
    deliveries: int
    due_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> "Reservation":
        return cls(
            task_id=row.task_id,
            reason=row.reason,
            lease_token=row.lease_token,
            expires_at=row.visibility_timeout_at,
            deliveries=row.deliveries,
            due_at=row.due_at,
        )


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A task as it would be served next; ``due_at`` is None for a new task."""

    task_id: uuid.UUID
    reason: str
    due_at: datetime | None
    deliveries: int

    @classmethod
    def from_row(cls, row: Any) -> "QueueEntry":
        due_at = None if row.reason == "new" else row.due_at
        return cls(row.task_id, row.reason, due_at, row.deliveries)


def check_limit(limit: int) -> None:
    """Refuse a batch size outside 1..MAX_LIMIT."""
    if not 1 <= limit <= MAX_LIMIT:
        raise QueueRequestRejected("INVALID_LIMIT", f"limit must be 1 to {MAX_LIMIT}")


def check_visibility(seconds: int) -> timedelta:
    """The visibility timeout for ``seconds``, if within 10 s to 12 h."""
    if not MIN_VISIBILITY_SECONDS <= seconds <= MAX_VISIBILITY_SECONDS:
        raise QueueRequestRejected(
            "INVALID_VISIBILITY",
            f"visibility must be {MIN_VISIBILITY_SECONDS} to {MAX_VISIBILITY_SECONDS} seconds",
        )
    return timedelta(seconds=seconds)


async def reserve_tasks(
    conn: AsyncConnection,
    *,
    user_id: uuid.UUID,
    course_id: uuid.UUID,
    limit: int,
    now: datetime,
    section_id: uuid.UUID | None = None,
    theme_id: uuid.UUID | None = None,
    same_theme: bool = False,
    visibility_seconds: int = DEFAULT_VISIBILITY_SECONDS,
) -> tuple[Reservation, ...]:
    """Reserve up to ``limit`` tasks of the course (or of the section/theme) until now +
    visibility; fewer (or none) when fewer are available. Never waits for a lock.

    A section or theme asked for explicitly also serves tasks whose retries expired.
    Raises QueueRequestRejected, having written nothing, for bad limits or an unknown scope.
    """
    check_limit(limit)
    until = now + check_visibility(visibility_seconds)
    await _check_scope(
        conn, user_id=user_id, course_id=course_id, section_id=section_id, theme_id=theme_id
    )
    await q.ensure_user(conn, user_id)
    scope = {
        "user_id": user_id,
        "course_id": course_id,
        "section_id": section_id,
        "include_expired": section_id is not None or theme_id is not None,
        "now": now,
        "until": until,
    }
    if not same_theme or theme_id is not None:
        rows = await _reserve(conn, **scope, theme_id=theme_id, limit=limit)
    else:
        rows = await _reserve(conn, **scope, theme_id=None, limit=1)
        if rows and limit > 1:
            rows += await _reserve(conn, **scope, theme_id=rows[0].theme_id, limit=limit - 1)
    return tuple(Reservation.from_row(row) for row in rows)


async def _check_scope(
    conn: AsyncConnection,
    *,
    user_id: uuid.UUID,
    course_id: uuid.UUID,
    section_id: uuid.UUID | None,
    theme_id: uuid.UUID | None,
) -> None:
    # Every course is public today; a course hidden from a learner must answer
    # COURSE_NOT_FOUND too, so that its existence does not leak.
    scope = await q.get_scope(conn, user_id, course_id, section_id, theme_id)
    if not scope.course_found:
        raise QueueRequestRejected("COURSE_NOT_FOUND", "there is no such course")
    if scope.paused:
        raise QueueRequestRejected(
            "COURSE_PAUSED", "the course is paused; resumeCourse serves it again"
        )
    if not scope.section_found:
        raise QueueRequestRejected("SECTION_NOT_FOUND", "there is no such section in the course")
    if not scope.theme_found:
        raise QueueRequestRejected("THEME_NOT_FOUND", "there is no such theme in the course")
    if not scope.has_active_tasks:
        raise QueueRequestRejected("NO_ACTIVE_TASKS", "nothing here is active any more")


async def _reserve(conn: AsyncConnection, *, limit: int, **scope: Any) -> list[Any]:
    reserved: list[Any] = []
    for _ in range(MAX_PASSES):
        picked, rows = await q.reserve(conn, **scope, limit=limit - len(reserved))
        reserved += rows
        if len(reserved) >= limit or picked == len(rows):
            break
    return reserved


async def extend_reservation(
    conn: AsyncConnection,
    *,
    user_id: uuid.UUID,
    lease_token: uuid.UUID,
    seconds: int,
    now: datetime,
) -> Reservation:
    """Keep a live reservation until now + ``seconds`` (10 s to 12 h), like SQS's
    ChangeMessageVisibility; a stale token is refused with LEASE_EXPIRED, changing nothing."""
    until = now + check_visibility(seconds)
    lease = await _live_lease(conn, user_id=user_id, lease_token=lease_token, now=now)
    if not lease.task_active:
        raise QueueRequestRejected("TASK_INACTIVE", "the task is no longer part of its course")
    await q.lock_task(conn, user_id, lease.task_id)
    row = await q.extend(conn, user_id, lease_token, until=until, now=now)
    if row is None:
        raise _lease_expired()
    return Reservation.from_row(row)


async def release_reservation(
    conn: AsyncConnection, *, user_id: uuid.UUID, lease_token: uuid.UUID, now: datetime
) -> QueueEntry:
    """Give a live reservation back: its task is reservable again at once (a retry or
    review keeps its due time and place); the token is void from now on."""
    lease = await _live_lease(conn, user_id=user_id, lease_token=lease_token, now=now)
    await q.lock_task(conn, user_id, lease.task_id)
    row = await q.release(conn, user_id, lease_token, now=now)
    if row is None:
        raise _lease_expired()
    return QueueEntry.from_row(row)


async def _live_lease(
    conn: AsyncConnection, *, user_id: uuid.UUID, lease_token: uuid.UUID, now: datetime
) -> Any:
    row = await q.get_lease(conn, user_id, lease_token)
    lease = task_queue.Lease.from_row(row) if row else None
    if task_queue.lease_problem(lease, task_id=None, now=now) is not None:
        raise _lease_expired()
    return row


def _lease_expired() -> QueueRequestRejected:
    return QueueRequestRejected(
        task_queue.LEASE_EXPIRED,
        "this reservation has expired, was released or completed, or went to another holder",
    )


async def preview_queue(
    conn: AsyncConnection, *, user_id: uuid.UUID, course_id: uuid.UUID, limit: int, now: datetime
) -> tuple[QueueEntry, ...] | None:
    """What reserve_tasks would serve next in the course, reserving nothing (None: no
    such course; nothing while the learner has paused it)."""
    check_limit(limit)
    scope = await q.get_scope(conn, user_id, course_id, None, None)
    if not scope.course_found:
        return None
    if scope.paused:
        return ()
    rows = await q.list_candidates(conn, user_id=user_id, course_id=course_id, limit=limit, now=now)
    return tuple(QueueEntry.from_row(row) for row in rows)
