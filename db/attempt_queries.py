"""The statements that record one attempt and update the learner's derived state.

Every counter moves by an SQL-side increment (never read-modify-write in Python), and
every statement filters by user id first. The caller serialises one user's attempts with
``lock_user`` and owns the transaction.
"""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import bindparam

from db.statements import statement

PROGRESS_RETURNING = (
    "solved_tasks, total_tasks, percent_complete, attempts_count, total_time_ms,"
    " average_time_ms, updated_at"
)
PERCENT = "CASE WHEN {total} = 0 THEN 0 ELSE least(100, round(100.0 * {solved} / {total}, 2)) END"


async def lock_user(conn: AsyncConnection, user_id: uuid.UUID) -> str:
    """Take the user's transaction-scoped lock, creating the user if new; returns the timezone.

    Two different users may share a lock key (a 64-bit hash); that only serialises them.
    """
    await conn.execute(
        statement(
            "SELECT pg_advisory_xact_lock(hashtextextended(CAST(CAST(:u AS uuid) AS text), 0))"
        ),
        {"u": user_id},
    )
    row = (
        await conn.execute(
            statement(
                "WITH created AS (INSERT INTO users (id) VALUES (:u)"
                " ON CONFLICT (id) DO NOTHING RETURNING timezone)"
                " SELECT timezone FROM created UNION ALL"
                " SELECT timezone FROM users WHERE id = :u LIMIT 1"
            ),
            {"u": user_id},
        )
    ).one_or_none()
    if row is None:
        # A concurrent first request (an enrollment, a reservation) committed the user row
        # after this statement's snapshot: the insert waited for it and did nothing.
        row = (
            await conn.execute(
                statement("SELECT timezone FROM users WHERE id = :u"), {"u": user_id}
            )
        ).one()
    return str(row.timezone)


async def get_attempt(
    conn: AsyncConnection, user_id: uuid.UUID, attempt_id: uuid.UUID
) -> Row[Any] | None:
    """The stored fingerprint and outcome of one of the user's attempts, or None."""
    result = await conn.execute(
        statement(
            "SELECT fingerprint, outcome FROM user_task_attempt WHERE user_id = :u AND id = :id"
        ),
        {"u": user_id, "id": attempt_id},
    )
    return result.one_or_none()


async def get_task_placement(conn: AsyncConnection, task_id: uuid.UUID) -> Row[Any] | None:
    """Where a task sits now (theme, section, course) and whether it is active."""
    result = await conn.execute(
        statement(
            "SELECT t.id, t.active, t.theme_id, th.section_id, s.course_id"
            " FROM task t JOIN theme th ON th.id = t.theme_id"
            " JOIN section s ON s.id = th.section_id WHERE t.id = :id"
        ),
        {"id": task_id},
    )
    return result.one_or_none()


async def insert_attempt(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Insert the attempt; False if (user_id, id) already exists."""
    result = await conn.execute(
        statement(
            "INSERT INTO user_task_attempt (user_id, id, task_id, theme_id, section_id,"
            " course_id, tries, time_spent_ms, solved, payload, source, occurred_at, local_day,"
            " created_at, fingerprint)"
            " VALUES (:user_id, :id, :task_id, :theme_id, :section_id, :course_id, :tries,"
            " :time_spent_ms, :solved, :payload, :source, :occurred_at, :local_day,"
            " :created_at, :fingerprint)"
            " ON CONFLICT (user_id, id) DO NOTHING RETURNING id"
        ).bindparams(bindparam("payload", type_=JSONB)),
        values,
    )
    return result.one_or_none() is not None


async def set_attempt_outcome(
    conn: AsyncConnection, user_id: uuid.UUID, attempt_id: uuid.UUID, outcome: dict[str, Any]
) -> None:
    """Store what the submission returned, for replays."""
    await conn.execute(
        statement(
            "UPDATE user_task_attempt SET outcome = :outcome WHERE user_id = :u AND id = :id"
        ).bindparams(bindparam("outcome", type_=JSONB)),
        {"u": user_id, "id": attempt_id, "outcome": outcome},
    )


async def ensure_enrollment(
    conn: AsyncConnection, user_id: uuid.UUID, course_id: uuid.UUID, now: datetime
) -> None:
    """Enroll the user in the course unless already enrolled (any status)."""
    await conn.execute(
        statement(
            "INSERT INTO user_course_enrollment (user_id, course_id, status, started_at)"
            " VALUES (:u, :c, 'active', :now) ON CONFLICT DO NOTHING"
        ),
        {"u": user_id, "c": course_id, "now": now},
    )


async def upsert_task_state(
    conn: AsyncConnection,
    *,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    tries: int,
    time_spent_ms: int,
    solved: bool,
    occurred_at: datetime,
) -> Row[Any]:
    """Fold one attempt into user_task_state; ``was_solved`` tells if it was solved before.

    Order-independent (sums, least/greatest), so late offline attempts land where they belong.
    """
    result = await conn.execute(
        statement(
            "WITH before AS (SELECT status FROM user_task_state"
            " WHERE user_id = :u AND task_id = :t)"
            " INSERT INTO user_task_state AS s (user_id, task_id, status, success_count,"
            " failure_count, total_tries, total_time_ms, average_time_ms, first_attempt_at,"
            " last_attempt_at, solved_at)"
            " SELECT :u, :t, CASE WHEN v.solved THEN 'solved' ELSE 'in_progress' END,"
            " CASE WHEN v.solved THEN 1 ELSE 0 END, CASE WHEN v.solved THEN 0 ELSE 1 END,"
            " v.tries, v.ms, v.ms, v.at, v.at, CASE WHEN v.solved THEN v.at END"
            " FROM (SELECT CAST(:solved AS boolean) AS solved, CAST(:tries AS int) AS tries,"
            " CAST(:ms AS int) AS ms, CAST(:at AS timestamptz) AS at) v"
            " ON CONFLICT (user_id, task_id) DO UPDATE SET"
            " status = CASE WHEN s.status = 'solved' OR excluded.status = 'solved'"
            " THEN 'solved' ELSE 'in_progress' END,"
            " success_count = s.success_count + excluded.success_count,"
            " failure_count = s.failure_count + excluded.failure_count,"
            " total_tries = s.total_tries + excluded.total_tries,"
            " total_time_ms = s.total_time_ms + excluded.total_time_ms,"
            " average_time_ms = (s.total_time_ms + excluded.total_time_ms)"
            " / (s.success_count + s.failure_count + 1),"
            " first_attempt_at = least(s.first_attempt_at, excluded.first_attempt_at),"
            " last_attempt_at = greatest(s.last_attempt_at, excluded.last_attempt_at),"
            " solved_at = least(s.solved_at, excluded.solved_at)"
            " RETURNING s.status, s.success_count, s.failure_count, s.total_tries,"
            " s.total_time_ms, s.average_time_ms, s.first_attempt_at, s.last_attempt_at,"
            " s.solved_at, coalesce((SELECT status = 'solved' FROM before), false) AS was_solved"
        ),
        {
            "u": user_id,
            "t": task_id,
            "solved": solved,
            "tries": tries,
            "ms": time_spent_ms,
            "at": occurred_at,
        },
    )
    return result.one()


async def upsert_section_progress(
    conn: AsyncConnection,
    *,
    user_id: uuid.UUID,
    section_id: uuid.UUID,
    newly_solved: bool,
    time_spent_ms: int,
    now: datetime,
) -> Row[Any]:
    """Fold one attempt into the section's progress; solved moves only on a first solve."""
    result = await conn.execute(
        statement(
            "INSERT INTO user_section_progress AS p (user_id, section_id, course_id,"
            " solved_tasks, total_tasks, percent_complete, attempts_count, total_time_ms,"
            " average_time_ms, updated_at)"
            " SELECT :u, s.id, s.course_id, CAST(:inc AS int), s.total_tasks_cached,"
            f" {PERCENT.format(total='s.total_tasks_cached', solved='CAST(:inc AS int)')},"
            " 1, CAST(:ms AS int), CAST(:ms AS int), CAST(:now AS timestamptz)"
            " FROM section s WHERE s.id = :section"
            " ON CONFLICT (user_id, section_id) DO UPDATE SET"
            " solved_tasks = p.solved_tasks + excluded.solved_tasks,"
            " total_tasks = excluded.total_tasks,"
            " percent_complete = "
            + PERCENT.format(
                total="excluded.total_tasks", solved="(p.solved_tasks + excluded.solved_tasks)"
            )
            + ", attempts_count = p.attempts_count + 1,"
            " total_time_ms = p.total_time_ms + excluded.total_time_ms,"
            " average_time_ms = (p.total_time_ms + excluded.total_time_ms)"
            " / (p.attempts_count + 1),"
            " updated_at = excluded.updated_at"
            f" RETURNING {PROGRESS_RETURNING}"
        ),
        {
            "u": user_id,
            "section": section_id,
            "inc": 1 if newly_solved else 0,
            "ms": time_spent_ms,
            "now": now,
        },
    )
    return result.one()


async def upsert_course_progress(
    conn: AsyncConnection,
    *,
    user_id: uuid.UUID,
    course_id: uuid.UUID,
    newly_solved: bool,
    time_spent_ms: int,
    now: datetime,
) -> Row[Any]:
    """Fold one attempt into the course's progress; solved moves only on a first solve."""
    result = await conn.execute(
        statement(
            "INSERT INTO user_course_progress AS p (user_id, course_id, solved_tasks,"
            " total_tasks, percent_complete, attempts_count, total_time_ms, average_time_ms,"
            " updated_at)"
            " SELECT :u, c.id, CAST(:inc AS int), c.total_tasks_cached,"
            f" {PERCENT.format(total='c.total_tasks_cached', solved='CAST(:inc AS int)')},"
            " 1, CAST(:ms AS int), CAST(:ms AS int), CAST(:now AS timestamptz)"
            " FROM course c WHERE c.id = :course"
            " ON CONFLICT (user_id, course_id) DO UPDATE SET"
            " solved_tasks = p.solved_tasks + excluded.solved_tasks,"
            " total_tasks = excluded.total_tasks,"
            " percent_complete = "
            + PERCENT.format(
                total="excluded.total_tasks", solved="(p.solved_tasks + excluded.solved_tasks)"
            )
            + ", attempts_count = p.attempts_count + 1,"
            " total_time_ms = p.total_time_ms + excluded.total_time_ms,"
            " average_time_ms = (p.total_time_ms + excluded.total_time_ms)"
            " / (p.attempts_count + 1),"
            " updated_at = excluded.updated_at"
            f" RETURNING {PROGRESS_RETURNING}"
        ),
        {
            "u": user_id,
            "course": course_id,
            "inc": 1 if newly_solved else 0,
            "ms": time_spent_ms,
            "now": now,
        },
    )
    return result.one()


async def complete_enrollment(
    conn: AsyncConnection, user_id: uuid.UUID, course_id: uuid.UUID, at: datetime
) -> None:
    """Mark the enrollment completed (once; the first completion time stays)."""
    await conn.execute(
        statement(
            "UPDATE user_course_enrollment SET status = 'completed', completed_at = :at"
            " WHERE user_id = :u AND course_id = :c AND status <> 'completed'"
        ),
        {"u": user_id, "c": course_id, "at": at},
    )


async def upsert_daily_activity(
    conn: AsyncConnection,
    *,
    user_id: uuid.UUID,
    day: date,
    solved: bool,
    time_spent_ms: int,
) -> Row[Any]:
    """Count the attempt on the learner's local day; returns the day's new totals."""
    result = await conn.execute(
        statement(
            "INSERT INTO user_daily_activity AS d (user_id, day, attempts, solved, time_spent_ms)"
            " VALUES (:u, :day, 1, :solved, :ms)"
            " ON CONFLICT (user_id, day) DO UPDATE SET attempts = d.attempts + 1,"
            " solved = d.solved + excluded.solved,"
            " time_spent_ms = d.time_spent_ms + excluded.time_spent_ms"
            " RETURNING day, attempts, solved, time_spent_ms"
        ),
        {"u": user_id, "day": day, "solved": 1 if solved else 0, "ms": time_spent_ms},
    )
    return result.one()


async def get_streak(conn: AsyncConnection, user_id: uuid.UUID) -> Row[Any] | None:
    """The stored streak row (run ending at last_active_day, longest run), or None."""
    result = await conn.execute(
        statement("SELECT current, longest, last_active_day FROM user_streak WHERE user_id = :u"),
        {"u": user_id},
    )
    return result.one_or_none()


async def save_streak(
    conn: AsyncConnection, user_id: uuid.UUID, current: int, longest: int, last_day: date
) -> None:
    await conn.execute(
        statement(
            "INSERT INTO user_streak (user_id, current, longest, last_active_day)"
            " VALUES (:u, :current, :longest, :last)"
            " ON CONFLICT (user_id) DO UPDATE SET current = excluded.current,"
            " longest = excluded.longest, last_active_day = excluded.last_active_day"
        ),
        {"u": user_id, "current": current, "longest": longest, "last": last_day},
    )


STREAK_FROM_DAYS = """
    WITH active AS (
        SELECT user_id, day FROM user_daily_activity WHERE solved > 0 AND {filter}
    ), runs AS (
        SELECT user_id, day,
               day - CAST(row_number() OVER (PARTITION BY user_id ORDER BY day) AS int) AS run
        FROM active
    ), islands AS (
        SELECT user_id, run, count(*) AS length, max(day) AS last_day FROM runs
        GROUP BY user_id, run
    )
    SELECT user_id,
           CAST((array_agg(length ORDER BY last_day DESC))[1] AS int) AS current,
           CAST(max(length) AS int) AS longest,
           max(last_day) AS last_active_day
    FROM islands GROUP BY user_id
"""


async def rebuild_streak(conn: AsyncConnection, user_id: uuid.UUID) -> None:
    """Rebuild one user's streak from their daily activity (after a late attempt filled a gap)."""
    await conn.execute(
        statement(
            "INSERT INTO user_streak (user_id, current, longest, last_active_day) "
            + STREAK_FROM_DAYS.format(filter="user_id = :u")
            + " ON CONFLICT (user_id) DO UPDATE SET current = excluded.current,"
            " longest = excluded.longest, last_active_day = excluded.last_active_day"
        ),
        {"u": user_id},
    )
