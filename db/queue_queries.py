"""Statements on user_task_queue: choosing, reserving, settling, extending, releasing entries.

Concurrency (see domain.reservations for why): every statement that WRITES a learner's
entries for a task first holds that (learner, task) pair's transaction-scoped advisory lock
(``TASK_LOCK``, the two-int4 key space, apart from the per-user bigint lock of
attempt_queries). Reservation takes it with ``pg_try_advisory_xact_lock`` and skips the task
when another transaction holds it, the advisory equivalent of ``FOR UPDATE SKIP LOCKED``
that also covers tasks with no row yet; everyone else waits for it. So a reserver never
waits for a lock (but see ENSURE_USER), and every other writer waits only for transactions
that do not wait.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from db import raw
from db.statements import statement

TASK_LOCK = (
    "hashtext(CAST(CAST(:user_id AS uuid) AS text)), hashtext(CAST(CAST({task} AS uuid) AS text))"
)

ENTRY_COLUMNS = (
    "id, task_id, course_id, state, reason, priority, due_at, deliveries, lease_token,"
    " visibility_timeout_at"
)

# Every active task of the scope the learner could be served now, ranked: due retries
# (priority desc, due time, content order), then due reviews, then new tasks in content
# order. A task is a candidate through its entry when that is due (queued and due, or a
# reservation whose visibility timeout has passed), or, with no entry, when it is not
# solved. Tasks whose retries expired are candidates only when asked for explicitly.
# Entries are few per learner; new tasks are the course's tasks minus two hashed sets
# (solved, and those with an entry), so the cost is one pass over the scope's tasks.
CANDIDATES = """
candidate AS MATERIALIZED (
    SELECT q.task_id, t.theme_id, q.reason, q.priority, q.due_at, q.deliveries,
           CASE q.reason WHEN 'retry' THEN 0 WHEN 'review' THEN 1 ELSE 2 END AS class,
           s.order_index AS s_order, s.id AS s_id, th.order_index AS th_order,
           t.order_index AS t_order
    FROM user_task_queue q
    JOIN task t ON t.id = q.task_id
    JOIN theme th ON th.id = t.theme_id
    JOIN section s ON s.id = th.section_id
    LEFT JOIN user_task_state ts ON ts.user_id = q.user_id AND ts.task_id = q.task_id
    WHERE q.user_id = :user_id AND s.course_id = :course_id AND t.active
      AND (CAST(:section_id AS uuid) IS NULL OR s.id = :section_id)
      AND (CAST(:theme_id AS uuid) IS NULL OR th.id = :theme_id)
      AND ((q.state = 'queued' AND q.due_at <= :now)
           OR (q.state = 'reserved' AND q.visibility_timeout_at <= :now)
           OR (q.state = 'expired' AND CAST(:include_expired AS boolean)
               AND NOT EXISTS (SELECT 1 FROM user_task_queue o WHERE o.user_id = q.user_id
                               AND o.task_id = q.task_id AND o.state IN ('queued', 'reserved'))))
      AND (q.reason = 'review' OR ts.status IS DISTINCT FROM 'solved')
      AND (q.state = 'expired' OR CAST(:include_expired AS boolean) OR NOT EXISTS (
           SELECT 1 FROM user_task_queue e WHERE e.user_id = q.user_id
           AND e.task_id = q.task_id AND e.state = 'expired'))
    UNION ALL
    SELECT t.id, t.theme_id, 'new', 0, NULL, 0, 2, s.order_index, s.id, th.order_index,
           t.order_index
    FROM section s
    JOIN theme th ON th.section_id = s.id
    JOIN task t ON t.theme_id = th.id
    WHERE s.course_id = :course_id AND t.active
      AND (CAST(:section_id AS uuid) IS NULL OR s.id = :section_id)
      AND (CAST(:theme_id AS uuid) IS NULL OR th.id = :theme_id)
      AND t.id NOT IN (SELECT ts.task_id FROM user_task_state ts
                       WHERE ts.user_id = :user_id AND ts.status = 'solved')
      AND t.id NOT IN (SELECT e.task_id FROM user_task_queue e
                       WHERE e.user_id = :user_id AND e.state IN ('queued', 'reserved', 'expired'))
),
ranked AS MATERIALIZED (
    SELECT *, row_number() OVER (ORDER BY class, priority DESC,
               CASE WHEN class < 2 THEN due_at END, s_order, s_id, th_order, theme_id,
               t_order, task_id) AS rank
    FROM candidate ORDER BY rank
)
"""

# The candidates are ranked and materialised first (the fence keeps the planner from
# evaluating the lock function on rows before they are filtered and ranked), then
# try-locked in rank order: the LIMIT stops the scan, so only the rows looked at are
# locked. A pick that lost a race (another reserver committed it after this statement's
# snapshot) meets that entry in ON CONFLICT, whose WHERE re-checks the committed row: it
# is skipped, not handed out twice.
RESERVE = f"""
WITH {CANDIDATES},
picked AS (
    SELECT * FROM ranked
    WHERE pg_try_advisory_xact_lock({TASK_LOCK.format(task="task_id")})
    LIMIT :limit
),
reserved AS (
    INSERT INTO user_task_queue AS q (user_id, task_id, course_id, state, reason, priority,
        due_at, deliveries, lease_token, enqueued_at, dequeued_at, visibility_timeout_at)
    SELECT :user_id, p.task_id, :course_id, 'reserved', p.reason, p.priority,
        coalesce(p.due_at, :now), 1, gen_random_uuid(), :now, :now, :until
    FROM picked p
    ON CONFLICT (user_id, task_id) WHERE state IN ('queued', 'reserved') DO UPDATE SET
        state = 'reserved',
        deliveries = q.deliveries + 1,
        lease_token = excluded.lease_token,
        dequeued_at = excluded.dequeued_at,
        visibility_timeout_at = excluded.visibility_timeout_at
    WHERE (q.state = 'queued' AND q.due_at <= excluded.dequeued_at)
       OR (q.state = 'reserved' AND q.visibility_timeout_at <= excluded.dequeued_at)
    RETURNING q.id, q.task_id, q.reason, q.due_at, q.deliveries, q.lease_token,
        q.visibility_timeout_at
)
SELECT n.picked, r.id, r.task_id, p.theme_id, r.reason, r.due_at, r.deliveries,
       r.lease_token, r.visibility_timeout_at
FROM (SELECT count(*) AS picked FROM picked) n
LEFT JOIN (reserved r JOIN picked p ON p.task_id = r.task_id) ON true
ORDER BY p.rank
"""


SCOPE = """
SELECT EXISTS (SELECT 1 FROM course WHERE id = :c) AS course_found,
       (CAST(:s AS uuid) IS NULL
        OR EXISTS (SELECT 1 FROM section WHERE id = :s AND course_id = :c)) AS section_found,
       (CAST(:th AS uuid) IS NULL
        OR EXISTS (SELECT 1 FROM theme th JOIN section s ON s.id = th.section_id
                   WHERE th.id = :th AND s.course_id = :c
                     AND (CAST(:s AS uuid) IS NULL OR s.id = :s))) AS theme_found,
       EXISTS (SELECT 1 FROM task t JOIN theme th ON th.id = t.theme_id
               JOIN section s ON s.id = th.section_id
               WHERE s.course_id = :c AND t.active
                 AND (CAST(:s AS uuid) IS NULL OR s.id = :s)
                 AND (CAST(:th AS uuid) IS NULL OR th.id = :th)) AS has_active_tasks,
       EXISTS (SELECT 1 FROM user_course_enrollment
               WHERE user_id = :u AND course_id = :c AND status = 'paused') AS paused
"""

# Inserts only when the row is missing, so it never waits on an existing user's row. (A
# brand-new learner's first request can still wait for a concurrent first request that
# is creating the same row: the only wait on the reservation path.)
ENSURE_USER = """
INSERT INTO users (id) SELECT :u WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = :u)
ON CONFLICT (id) DO NOTHING
"""


async def get_scope(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    course_id: uuid.UUID,
    section_id: uuid.UUID | None,
    theme_id: uuid.UUID | None,
) -> Row[Any]:
    """Whether the course, the section (in it) and the theme (in both) exist, whether the
    scope holds any active task, and whether the user paused the course."""
    result = await conn.execute(
        statement(SCOPE),
        {"u": user_id, "c": course_id, "s": section_id, "th": theme_id},
    )
    return result.one()


async def ensure_user(conn: AsyncConnection, user_id: uuid.UUID) -> None:
    """Create the user row if missing."""
    await conn.execute(statement(ENSURE_USER), {"u": user_id})


async def reserve(
    conn: AsyncConnection,
    *,
    user_id: uuid.UUID,
    course_id: uuid.UUID,
    section_id: uuid.UUID | None,
    theme_id: uuid.UUID | None,
    include_expired: bool,
    limit: int,
    now: datetime,
    until: datetime,
) -> tuple[int, list[Row[Any]]]:
    """Reserve up to ``limit`` candidates in rank order until ``until``, skipping tasks another
    transaction holds; returns how many were picked and the reservations made (rank order).

    Fewer reservations than picks means some picks lost a race; a new statement (a new
    snapshot) may find others.
    """
    result = await conn.execute(
        statement(RESERVE),
        {
            "user_id": user_id,
            "course_id": course_id,
            "section_id": section_id,
            "theme_id": theme_id,
            "include_expired": include_expired,
            "limit": limit,
            "now": now,
            "until": until,
        },
    )
    rows = list(result)
    picked = rows[0].picked if rows else 0
    return picked, [row for row in rows if row.id is not None]


async def list_candidates(
    conn: AsyncConnection, *, user_id: uuid.UUID, course_id: uuid.UUID, limit: int, now: datetime
) -> list[Row[Any]]:
    """The first ``limit`` candidates of the whole course in rank order (reserves nothing)."""
    result = await conn.execute(
        statement(f"WITH {CANDIDATES} SELECT * FROM ranked ORDER BY rank LIMIT :limit"),
        {
            "user_id": user_id,
            "course_id": course_id,
            "section_id": None,
            "theme_id": None,
            "include_expired": False,
            "limit": limit,
            "now": now,
        },
    )
    return list(result)


# lock_task through enqueue run in every attempt's transaction (domain.task_queue), so they
# go to asyncpg directly (db.raw).


async def lock_task(conn: raw.Connection, user_id: uuid.UUID, task_id: uuid.UUID) -> None:
    """Wait for, then hold until the end of the transaction, the (user, task) entry lock."""
    await raw.execute(
        conn,
        f"SELECT pg_advisory_xact_lock({TASK_LOCK.replace(':user_id', '$1').format(task='$2')})",
        user_id,
        task_id,
    )


async def get_course_policy(conn: raw.Connection, course_id: uuid.UUID) -> dict[str, Any] | None:
    """The course's stored queue policy (None: the defaults)."""
    policy: dict[str, Any] | None = await raw.fetch_value(
        conn, "SELECT queue_policy FROM course WHERE id = $1", course_id
    )
    return policy


async def get_lease(conn: raw.Connection, user_id: uuid.UUID, lease_token: uuid.UUID) -> Any | None:
    """The user's entry that carries ``lease_token`` (in any state), with its task's active flag."""
    return await raw.fetch_optional(
        conn,
        f"SELECT {', '.join('q.' + c for c in ENTRY_COLUMNS.split(', '))},"
        " coalesce(t.active, false) AS task_active"
        " FROM user_task_queue q LEFT JOIN task t ON t.id = q.task_id"
        " WHERE q.user_id = $1 AND q.lease_token = $2",
        user_id,
        lease_token,
    )


async def has_live_reservation(
    conn: raw.Connection, user_id: uuid.UUID, task_id: uuid.UUID, now: datetime
) -> bool:
    """Whether someone holds a reservation of the task whose lease has not expired."""
    found: bool = await raw.fetch_value(
        conn,
        "SELECT EXISTS (SELECT 1 FROM user_task_queue WHERE user_id = $1 AND task_id = $2"
        " AND state = 'reserved' AND visibility_timeout_at > $3)",
        user_id,
        task_id,
        now,
    )
    return found


async def list_reviews(conn: raw.Connection, user_id: uuid.UUID, task_id: uuid.UUID) -> list[Any]:
    """The user's attempts at the task, oldest first (by when they happened)."""
    return await raw.fetch(
        conn,
        "SELECT occurred_at, solved, tries FROM user_task_attempt"
        " WHERE user_id = $1 AND task_id = $2 ORDER BY occurred_at, received_seq",
        user_id,
        task_id,
    )


async def close_entries(
    conn: raw.Connection, user_id: uuid.UUID, task_id: uuid.UUID, *, include_expired: bool
) -> None:
    """Mark the task's open entries (and its expired marker, if asked) done."""
    await raw.execute(
        conn,
        "UPDATE user_task_queue SET state = 'done' WHERE user_id = $1 AND task_id = $2"
        " AND (state IN ('queued', 'reserved') OR ($3 AND state = 'expired'))",
        user_id,
        task_id,
        include_expired,
    )


async def enqueue(
    conn: raw.Connection,
    *,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    course_id: uuid.UUID,
    state: str,
    reason: str,
    due_at: datetime,
    now: datetime,
) -> None:
    """Add a queued entry, or the task's expired marker (kept if it already has one).

    The caller closed the task's open entries first; the priority is the learner's
    ``queue_priority`` for the task.
    """
    await raw.execute(
        conn,
        "INSERT INTO user_task_queue (user_id, task_id, course_id, state, reason, priority,"
        " due_at, deliveries, enqueued_at)"
        " SELECT $1, $2, $3, $4, $5,"
        " coalesce((SELECT queue_priority FROM user_task_state"
        "  WHERE user_id = $1 AND task_id = $2), 0), $6, 0, $7"
        " ON CONFLICT (user_id, task_id) WHERE state = 'expired' DO NOTHING",
        user_id,
        task_id,
        course_id,
        state,
        reason,
        due_at,
        now,
    )


async def extend(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    lease_token: uuid.UUID,
    *,
    until: datetime,
    now: datetime,
) -> Row[Any] | None:
    """Move a live reservation's visibility timeout to ``until``; None if it is not live."""
    result = await conn.execute(
        statement(
            "UPDATE user_task_queue SET visibility_timeout_at = :until"
            " WHERE user_id = :u AND lease_token = :token AND state = 'reserved'"
            f" AND visibility_timeout_at > :now RETURNING {ENTRY_COLUMNS}"
        ),
        {"u": user_id, "token": lease_token, "until": until, "now": now},
    )
    return result.one_or_none()


async def release(
    conn: AsyncConnection, user_id: uuid.UUID, lease_token: uuid.UUID, *, now: datetime
) -> Row[Any] | None:
    """Give a live reservation back (queued, due as before, token void); None if not live."""
    result = await conn.execute(
        statement(
            "UPDATE user_task_queue SET state = 'queued', lease_token = NULL,"
            " visibility_timeout_at = NULL"
            " WHERE user_id = :u AND lease_token = :token AND state = 'reserved'"
            f" AND visibility_timeout_at > :now RETURNING {ENTRY_COLUMNS}"
        ),
        {"u": user_id, "token": lease_token, "now": now},
    )
    return result.one_or_none()


async def next_due_by_user_task(
    conn: AsyncConnection, keys: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> list[datetime | None]:
    """When each (user_id, task_id)'s next retry or review is due (the earliest open queue
    entry of those reasons), aligned to ``keys``; None where none is queued."""
    result = await conn.execute(
        statement(
            "SELECT q.user_id, q.task_id, min(q.due_at) AS due_at FROM user_task_queue q"
            " JOIN unnest(CAST(:users AS uuid[]), CAST(:tasks AS uuid[])) AS k(user_id, task_id)"
            " ON q.user_id = k.user_id AND q.task_id = k.task_id"
            " WHERE q.state IN ('queued', 'reserved') AND q.reason IN ('retry', 'review')"
            " GROUP BY q.user_id, q.task_id"
        ),
        {"users": [k[0] for k in keys], "tasks": [k[1] for k in keys]},
    )
    found = {(row.user_id, row.task_id): row.due_at for row in result.all()}
    return [found.get(key) for key in keys]
