"""Every derived per-user table, recomputed set-based from user_task_attempt.

The expected rows are built into temporary tables for a batch of users; ``drift`` compares
them with the live tables and ``replace_live`` swaps them in. The formulas are the ones the
incremental statements in attempt_queries apply, so a correct history shows no drift.
Columns that record when something was processed (updated_at) or belong to the queue
(next_due_at, queue_priority) are not derived from attempts and are not compared.
"""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.attempt_queries import PERCENT, local_day_sql, zone_at

TASK_STATE_COLUMNS = (
    "user_id, task_id, status, success_count, failure_count, total_tries, total_time_ms,"
    " average_time_ms, first_attempt_at, last_attempt_at, solved_at, fastest_one_try_ms"
)
SECTION_COLUMNS = (
    "user_id, section_id, course_id, solved_tasks, total_tasks, percent_complete,"
    " attempts_count, total_time_ms, average_time_ms"
)
COURSE_COLUMNS = (
    "user_id, course_id, solved_tasks, total_tasks, percent_complete, attempts_count,"
    " total_time_ms, average_time_ms"
)
DAILY_COLUMNS = "user_id, day, attempts, solved, solved_tasks, time_spent_ms, streak_solved"
STREAK_COLUMNS = "user_id, current, longest, last_active_day, freezes, frozen_days, last_grant_day"
TOTALS_COLUMNS = "user_id, solved_tasks, one_try_ms"

# live table -> (temp table, compared columns, key columns)
TABLES: dict[str, tuple[str, str, str]] = {
    "user_task_state": ("expected_task_state", TASK_STATE_COLUMNS, "user_id, task_id"),
    "user_section_progress": ("expected_section_progress", SECTION_COLUMNS, "user_id, section_id"),
    "user_course_progress": ("expected_course_progress", COURSE_COLUMNS, "user_id, course_id"),
    "user_daily_activity": ("expected_daily_activity", DAILY_COLUMNS, "user_id, day"),
    "user_streak": ("expected_streak", STREAK_COLUMNS, "user_id"),
    "user_totals": ("expected_totals", TOTALS_COLUMNS, "user_id"),
}


def _progress(scope_select: str, group: str, total: str) -> str:
    return (
        f"SELECT ts.user_id, {scope_select},"
        " CAST(count(*) FILTER (WHERE ts.status = 'solved' AND t.active) AS int) AS solved,"
        f" {total} AS total,"
        " CAST(sum(ts.success_count + ts.failure_count) AS int) AS attempts,"
        " CAST(sum(ts.total_time_ms) AS bigint) AS time_ms"
        " FROM expected_task_state ts JOIN task t ON t.id = ts.task_id"
        " JOIN theme th ON th.id = t.theme_id JOIN section s ON s.id = th.section_id"
        " JOIN course c ON c.id = s.course_id"
        # Progress exists only in courses the learner is enrolled in (migration 0013).
        " JOIN user_course_enrollment e ON e.user_id = ts.user_id AND e.course_id = c.id"
        f" GROUP BY ts.user_id, {group}"
    )


def _progress_columns() -> str:
    return (
        "solved AS solved_tasks, total AS total_tasks, "
        + PERCENT.format(total="total", solved="solved")
        + " AS percent_complete, attempts AS attempts_count, time_ms AS total_time_ms,"
        " CAST(CASE WHEN attempts = 0 THEN 0 ELSE time_ms / attempts END AS int)"
        " AS average_time_ms"
    )


BUILD = [
    "CREATE TEMP TABLE expected_task_state ON COMMIT DROP AS"
    " SELECT user_id, task_id,"
    " CASE WHEN bool_or(solved) THEN 'solved' ELSE 'in_progress' END AS status,"
    " CAST(count(*) FILTER (WHERE solved) AS int) AS success_count,"
    " CAST(count(*) FILTER (WHERE NOT solved) AS int) AS failure_count,"
    " CAST(sum(tries) AS int) AS total_tries,"
    " CAST(sum(time_spent_ms) AS bigint) AS total_time_ms,"
    " CAST(CAST(sum(time_spent_ms) AS bigint) / count(*) AS int) AS average_time_ms,"
    " min(occurred_at) AS first_attempt_at, max(occurred_at) AS last_attempt_at,"
    " min(occurred_at) FILTER (WHERE solved) AS solved_at,"
    " min(time_spent_ms) FILTER (WHERE solved AND tries = 1) AS fastest_one_try_ms"
    # Attempts outlive a deleted task; its state went with it.
    " FROM user_task_attempt a WHERE user_id = ANY(:users)"
    " AND EXISTS (SELECT 1 FROM task t WHERE t.id = a.task_id) GROUP BY user_id, task_id",
    "CREATE TEMP TABLE expected_section_progress ON COMMIT DROP AS"
    " SELECT user_id, section_id, course_id, "
    + _progress_columns()
    + " FROM ("
    + _progress(
        "s.id AS section_id, s.course_id",
        "s.id, s.course_id, s.total_tasks_cached",
        "s.total_tasks_cached",
    )
    + ") agg",
    "CREATE TEMP TABLE expected_course_progress ON COMMIT DROP AS"
    " SELECT user_id, course_id, "
    + _progress_columns()
    + " FROM ("
    + _progress("c.id AS course_id", "c.id, c.total_tasks_cached", "c.total_tasks_cached")
    + ") agg",
    "CREATE TEMP TABLE expected_daily_activity ON COMMIT DROP AS"
    " SELECT user_id, local_day AS day, CAST(count(*) AS int) AS attempts,"
    " CAST(count(*) FILTER (WHERE solved) AS int) AS solved,"
    " CAST(count(DISTINCT task_id) FILTER (WHERE solved) AS int) AS solved_tasks,"
    " CAST(sum(time_spent_ms) AS bigint) AS time_spent_ms,"
    # Solves received within the streak grace period (see domain/streaks.py).
    " CAST(count(*) FILTER (WHERE solved AND created_at - occurred_at"
    " <= make_interval(secs => :grace)) AS int) AS streak_solved"
    " FROM user_task_attempt WHERE user_id = ANY(:users) GROUP BY user_id, local_day",
    # From the attempts, deleted tasks included: a task solved stays solved in the totals.
    "CREATE TEMP TABLE expected_totals ON COMMIT DROP AS"
    " SELECT user_id, CAST(count(*) FILTER (WHERE solved) AS int) AS solved_tasks,"
    " coalesce(array_agg(one_try ORDER BY one_try) FILTER (WHERE one_try IS NOT NULL),"
    " CAST('{}' AS int[])) AS one_try_ms"
    " FROM (SELECT user_id, task_id, bool_or(solved) AS solved,"
    " min(time_spent_ms) FILTER (WHERE solved AND tries = 1) AS one_try"
    " FROM user_task_attempt WHERE user_id = ANY(:users) GROUP BY user_id, task_id) per_task"
    " GROUP BY user_id HAVING bool_or(solved)",
    # Filled by the domain's streak fold over the streak days and grants (streak_inputs).
    "CREATE TEMP TABLE expected_streak (user_id uuid, current int, longest int,"
    " last_active_day date, freezes int, frozen_days date[], last_grant_day date)"
    " ON COMMIT DROP",
]


async def build_expected(
    conn: AsyncConnection, user_ids: Sequence[uuid.UUID], *, grace_seconds: float
) -> None:
    """Fill the expected_* temporary tables for these users (dropped at commit), all but
    expected_streak: see ``streak_inputs`` and ``fill_expected_streak``."""
    for statement in BUILD:
        await conn.execute(text(statement), {"users": list(user_ids), "grace": grace_seconds})


async def streak_inputs(conn: AsyncConnection, user_ids: Sequence[uuid.UUID]) -> list[Any]:
    """Per user with streak days or freeze grants: ``days`` (expected streak days,
    ascending), ``grant_days`` and ``grant_counts`` (aligned, by day)."""
    result = await conn.execute(
        text(
            "SELECT u AS user_id,"
            " coalesce((SELECT array_agg(d.day ORDER BY d.day) FROM expected_daily_activity d"
            " WHERE d.user_id = u AND d.streak_solved > 0), CAST('{}' AS date[])) AS days,"
            " coalesce((SELECT array_agg(g.day ORDER BY g.day, g.id)"
            " FROM user_streak_freeze_grant g WHERE g.user_id = u), CAST('{}' AS date[]))"
            " AS grant_days,"
            " coalesce((SELECT array_agg(g.count ORDER BY g.day, g.id)"
            " FROM user_streak_freeze_grant g WHERE g.user_id = u), CAST('{}' AS int[]))"
            " AS grant_counts"
            " FROM unnest(CAST(:users AS uuid[])) AS u"
            " WHERE EXISTS (SELECT 1 FROM expected_daily_activity d"
            " WHERE d.user_id = u AND d.streak_solved > 0)"
            " OR EXISTS (SELECT 1 FROM user_streak_freeze_grant g WHERE g.user_id = u)"
        ),
        {"users": list(user_ids)},
    )
    return list(result.all())


async def fill_expected_streak(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert the folded streaks (STREAK_COLUMNS as keys) into expected_streak."""
    if rows:
        await conn.execute(
            text(
                "INSERT INTO expected_streak (" + STREAK_COLUMNS + ") VALUES (:user_id,"
                " :current, :longest, :last_active_day, :freezes, :frozen_days,"
                " :last_grant_day)"
            ),
            list(rows),
        )


async def local_day_drift(
    conn: AsyncConnection, user_ids: Sequence[uuid.UUID], *, day_start_hour: int
) -> list[dict[str, Any]]:
    """Attempts whose local day is not the one their ``occurred_at`` has under the
    learner's time-zone history and the day-start hour (as the attempt path assigns it)."""
    result = await conn.execute(
        text(
            "SELECT * FROM (SELECT a.user_id, a.id AS attempt_id, a.local_day, "
            + local_day_sql(
                "a.occurred_at", "coalesce(zh.timezone, u.timezone)", "zh.floor_day", ":ds"
            )
            + " AS expected_day FROM user_task_attempt a JOIN users u ON u.id = a.user_id"
            + zone_at("a.user_id", "a.occurred_at", "zh")
            + " WHERE a.user_id = ANY(:users)) x WHERE local_day <> expected_day"
            " ORDER BY user_id, attempt_id"
        ),
        {"users": list(user_ids), "ds": day_start_hour},
    )
    return [row._asdict() for row in result]


async def drift(conn: AsyncConnection, user_ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
    """Rows that differ between the live tables and the expected ones, with a ``side``."""
    found: list[dict[str, Any]] = []
    for live, (expected, columns, key) in TABLES.items():
        for side, left, right in (
            ("missing or wrong", expected, live),
            ("unexpected", live, expected),
        ):
            rows = await conn.execute(
                text(
                    f"SELECT {columns} FROM {left} WHERE user_id = ANY(:users)"
                    f" EXCEPT SELECT {columns} FROM {right} WHERE user_id = ANY(:users)"
                    f" ORDER BY {key}"
                ),
                {"users": list(user_ids)},
            )
            found += [{"table": live, "side": side, **row._asdict()} for row in rows]
    return found


async def replace_live(conn: AsyncConnection, user_ids: Sequence[uuid.UUID]) -> None:
    """Replace these users' live derived rows with the expected ones (and drop their badge
    step's theme-count cache, which was computed from the rows replaced)."""
    await conn.execute(
        text("DELETE FROM user_theme_counts WHERE user_id = ANY(:users)"), {"users": list(user_ids)}
    )
    for live, (expected, columns, _key) in TABLES.items():
        await conn.execute(
            text(f"DELETE FROM {live} WHERE user_id = ANY(:users)"), {"users": list(user_ids)}
        )
        timestamps = "updated_at" if "progress" in live else None
        insert_columns = columns + (f", {timestamps}" if timestamps else "")
        select_columns = columns + (", now()" if timestamps else "")
        await conn.execute(
            text(f"INSERT INTO {live} ({insert_columns}) SELECT {select_columns} FROM {expected}")
        )


async def users_with_attempts(conn: AsyncConnection) -> list[uuid.UUID]:
    """Every user with attempts or anything derived or checked (task state, a streak or
    freeze grants, an enrollment, an award, a queue entry), in id order."""
    tables = (
        "user_task_attempt",
        "user_task_state",
        "user_streak",
        "user_streak_freeze_grant",
        "user_course_enrollment",
        "user_badge",
        "user_task_queue",
    )
    result = await conn.execute(
        text(
            "SELECT id FROM users WHERE "
            + " OR ".join(
                f"EXISTS (SELECT 1 FROM {table} x WHERE x.user_id = users.id)" for table in tables
            )
            + " ORDER BY id"
        )
    )
    return list(result.scalars())


async def lock_users(conn: AsyncConnection, user_ids: Sequence[uuid.UUID]) -> None:
    """Take the users' attempt locks in id order (no deadlock with single-user lockers)."""
    await conn.execute(
        text(
            "SELECT pg_advisory_xact_lock(hashtextextended(CAST(u AS text), 0))"
            " FROM unnest(CAST(:users AS uuid[])) AS u ORDER BY u"
        ),
        {"users": sorted(user_ids)},
    )


# --- awards and queue entries (checked, never rebuilt: see domain.recompute) --------------


async def live_awards(conn: AsyncConnection, user_ids: Sequence[uuid.UUID]) -> list[Any]:
    """The users' awards (revoked ones included), with ``by_active_rule``: whether the rule
    that gave it is still active, on an active badge."""
    result = await conn.execute(
        text(
            "SELECT ub.user_id, ub.badge_id, ub.context_key, ub.attempt_id, ub.awarded_at,"
            " coalesce(r.active AND b.active, false) AS by_active_rule"
            " FROM user_badge ub LEFT JOIN badge_rule r ON r.id = ub.rule_id"
            " LEFT JOIN badge b ON b.id = r.badge_id WHERE ub.user_id = ANY(:users)"
        ),
        {"users": list(user_ids)},
    )
    return list(result.all())


async def queue_histories(conn: AsyncConnection, user_ids: Sequence[uuid.UUID]) -> list[Any]:
    """The users' attempts at tasks that still exist, per (user, task) in the order they
    occurred (ties: the order received), with the queue policy of the task's course."""
    result = await conn.execute(
        text(
            "SELECT a.user_id, a.task_id, a.occurred_at, a.solved, a.tries, c.queue_policy"
            " FROM user_task_attempt a JOIN task t ON t.id = a.task_id"
            " JOIN theme th ON th.id = t.theme_id JOIN section s ON s.id = th.section_id"
            " JOIN course c ON c.id = s.course_id WHERE a.user_id = ANY(:users)"
            " ORDER BY a.user_id, a.task_id, a.occurred_at, a.received_seq"
        ),
        {"users": list(user_ids)},
    )
    return list(result.all())


async def live_queue_entries(conn: AsyncConnection, user_ids: Sequence[uuid.UUID]) -> list[Any]:
    """The users' open entries and expired markers."""
    result = await conn.execute(
        text(
            "SELECT user_id, task_id, state, reason, due_at FROM user_task_queue"
            " WHERE user_id = ANY(:users) AND state IN ('queued', 'reserved', 'expired')"
        ),
        {"users": list(user_ids)},
    )
    return list(result.all())


# --- enrollments ------------------------------------------------------------------------

# Per enrollment, what is wrong with its status and completed_at under its course's
# completion policy and the recomputed course progress (expected_course_progress, so
# build_expected runs first). A course without active tasks (retired) accepts any state; a
# sticky course accepts a completion the content no longer supports.
ENROLLMENT_PROBLEMS = """
SELECT e.user_id, e.course_id, e.status, e.completed_at, c.completion,
       coalesce(p.solved_tasks, 0) AS solved_tasks, c.total_tasks_cached AS total_tasks,
       CASE
           WHEN (e.status = 'completed') <> (e.completed_at IS NOT NULL)
               THEN 'completed_at set though not completed, or completed without it'
           WHEN c.total_tasks_cached > 0 AND coalesce(p.solved_tasks, 0) >= c.total_tasks_cached
                AND e.status <> 'completed'
               THEN 'every active task solved but not completed'
           WHEN c.completion = 'live' AND e.status = 'completed' AND c.total_tasks_cached > 0
                AND coalesce(p.solved_tasks, 0) < c.total_tasks_cached
               THEN 'completed in a live course with active tasks unsolved'
       END AS problem
FROM user_course_enrollment e
JOIN course c ON c.id = e.course_id
LEFT JOIN expected_course_progress p ON p.user_id = e.user_id AND p.course_id = e.course_id
WHERE e.user_id = ANY(:users)
"""


async def enrollment_drift(
    conn: AsyncConnection, user_ids: Sequence[uuid.UUID]
) -> list[dict[str, Any]]:
    """Enrollments whose status or completed_at disagree with the completion policy and
    the recomputed progress, each with its ``problem`` (after build_expected)."""
    rows = await conn.execute(
        text(
            f"SELECT * FROM ({ENROLLMENT_PROBLEMS}) found WHERE problem IS NOT NULL"
            " ORDER BY user_id, course_id"
        ),
        {"users": list(user_ids)},
    )
    return [row._asdict() for row in rows]


async def repair_enrollments(conn: AsyncConnection, user_ids: Sequence[uuid.UUID]) -> None:
    """Set what enrollment_drift reports: completed (at the latest first solve of the
    course's active tasks, unless a time is stored) when every active task is solved; back
    to active in a live course with tasks unsolved; completed_at exactly when completed
    (after build_expected)."""
    await conn.execute(
        text(
            "UPDATE user_course_enrollment e SET status = f.status,"
            " completed_at = CASE WHEN f.status <> 'completed' THEN NULL"
            " ELSE coalesce(e.completed_at, (SELECT max(ts.solved_at)"
            " FROM expected_task_state ts JOIN task t ON t.id = ts.task_id AND t.active"
            " JOIN theme th ON th.id = t.theme_id JOIN section s ON s.id = th.section_id"
            " WHERE ts.user_id = e.user_id AND s.course_id = e.course_id), now()) END"
            " FROM (SELECT user_id, course_id, CASE"
            " WHEN problem LIKE 'completed in a live%' THEN 'active'"
            " WHEN problem LIKE 'every active task%' THEN 'completed'"
            f" ELSE status END AS status FROM ({ENROLLMENT_PROBLEMS}) found"
            " WHERE problem IS NOT NULL) f"
            " WHERE e.user_id = f.user_id AND e.course_id = f.course_id"
        ),
        {"users": list(user_ids)},
    )


async def rules_awards_from(
    conn: AsyncConnection, rule_ids: set[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    """Each rule's ``awards_from`` (None: it owes what learners earned at any time)."""
    result = await conn.execute(
        text("SELECT id, awards_from FROM badge_rule WHERE id = ANY(:ids)"),
        {"ids": list(rule_ids)},
    )
    return {row.id: row.awards_from for row in result}


async def attempts_received(
    conn: AsyncConnection, keys: list[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], Any]:
    """When the server received each (user_id, attempt id)."""
    result = await conn.execute(
        text(
            "SELECT a.user_id, a.id, a.created_at FROM user_task_attempt a"
            " JOIN unnest(CAST(:users AS uuid[]), CAST(:ids AS uuid[])) AS k(user_id, id)"
            " ON a.user_id = k.user_id AND a.id = k.id"
        ),
        {"users": [user for user, _ in keys], "ids": [attempt for _, attempt in keys]},
    )
    return {(row.user_id, row.id): row.created_at for row in result}
