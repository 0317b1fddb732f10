"""The statements that record one attempt and update the learner's derived state.

Every counter moves by an SQL-side increment (never read-modify-write in Python), and
every statement filters by user id first. The caller serialises one user's attempts with
``lock_user`` and owns the transaction. This is the hot write path: the statements go to
asyncpg directly (``db.raw``), in the caller's SQLAlchemy transaction.
"""

import uuid
from datetime import date, datetime
from typing import Any

from db import raw

PROGRESS_RETURNING = (
    "solved_tasks, total_tasks, percent_complete, attempts_count, total_time_ms,"
    " average_time_ms, updated_at"
)
PERCENT = "CASE WHEN {total} = 0 THEN 0 ELSE least(100, round(100.0 * {solved} / {total}, 2)) END"


async def lock_user(conn: raw.Connection, user_id: uuid.UUID) -> None:
    """Take the user's transaction-scoped lock; one user's attempts run one at a time.

    Two different users may share a lock key (a 64-bit hash); that only serialises them.
    """
    await raw.execute(
        conn,
        "SELECT pg_advisory_xact_lock(hashtextextended(CAST(CAST($1 AS uuid) AS text), 0))",
        user_id,
    )


def zone_at(user: str, at: str, alias: str) -> str:
    """A lateral join giving ``{alias}.timezone`` and ``{alias}.floor_day`` of the learner's
    time-zone history row in effect at ``at`` (both null: no history, ``users.timezone``)."""
    return (
        f" LEFT JOIN LATERAL (SELECT h.timezone, h.floor_day FROM user_timezone_history h"
        f" WHERE h.user_id = {user} AND h.effective_from <= {at}"
        f" ORDER BY h.effective_from DESC LIMIT 1) {alias} ON true"
    )


def local_day_sql(at: str, zone: str, floor: str, day_start_hour: str) -> str:
    """SQL for the local day of ``at`` (domain.streaks.local_day): the date in ``zone`` of
    ``at`` less the day-start hour, never before ``floor``."""
    return (
        f"greatest({floor}, CAST(({at} AT TIME ZONE {zone})"
        f" - make_interval(hours => CAST({day_start_hour} AS int)) AS date))"
    )


async def start_attempt(
    conn: raw.Connection,
    user_id: uuid.UUID,
    attempt_id: uuid.UUID,
    task_id: uuid.UUID | None,
    occurred_at: datetime,
    now: datetime,
) -> Any:
    """What recording an attempt starts from, in one statement after ``lock_user``.

    Creates the user if new. Columns: ``timezone`` (None when a concurrent first request
    committed the user row after this statement's snapshot: see ``get_timezone``);
    ``zone``/``floor_day`` and ``now_zone``/``now_floor_day``: the time-zone history in
    effect at ``occurred_at`` and at ``now`` (null: none, ``timezone`` holds);
    ``fingerprint`` and ``outcome`` of the attempt already stored under ``attempt_id``
    (None: new); the task's placement ``task_id``, ``active``, ``theme_id``,
    ``section_id``, ``course_id`` (None: no such task); the stored streak
    ``streak_stored``, ``current``, ``longest``, ``last_active_day``, ``freezes``,
    ``frozen_days``, ``last_grant_day``; ``content_version`` (what the cached badge rules
    are checked against); ``grading`` (``server``: the answer decides ``solved``; see
    ``answer_key``).
    """
    return await raw.fetch_one(
        conn,
        "WITH created AS (INSERT INTO users (id) VALUES ($1)"
        " ON CONFLICT (id) DO NOTHING RETURNING timezone)"
        " SELECT (SELECT timezone FROM created UNION ALL"
        " SELECT timezone FROM users WHERE id = $1 LIMIT 1) AS timezone,"
        " zh.timezone AS zone, zh.floor_day, zn.timezone AS now_zone,"
        " zn.floor_day AS now_floor_day, a.fingerprint, a.outcome,"
        " t.id AS task_id, t.active, t.grading, t.theme_id, th.section_id, s.course_id,"
        " st.user_id IS NOT NULL AS streak_stored, st.current, st.longest, st.last_active_day,"
        " st.freezes, st.frozen_days, st.last_grant_day,"
        " (SELECT version FROM content_version) AS content_version"
        " FROM (SELECT) AS one"
        " LEFT JOIN user_task_attempt a ON a.user_id = $1 AND a.id = $2"
        " LEFT JOIN (task t JOIN theme th ON th.id = t.theme_id"
        " JOIN section s ON s.id = th.section_id) ON t.id = $3"
        " LEFT JOIN user_streak st ON st.user_id = $1"
        + zone_at("$1", "CAST($4 AS timestamptz)", "zh")
        + zone_at("$1", "CAST($5 AS timestamptz)", "zn"),
        user_id,
        attempt_id,
        task_id,
        occurred_at,
        now,
    )


async def answer_key(conn: raw.Connection, task_id: uuid.UUID, at: datetime) -> Any:
    """The task's ``type`` and ``content`` as they were at ``at`` (the key an attempt made
    then is graded by; the current ones when no key that old is known), and its
    ``current_type`` and ``current_content``."""
    return await raw.fetch_one(
        conn,
        "SELECT coalesce(h.type, t.type) AS type, coalesce(h.content, t.content) AS content,"
        " t.type AS current_type, t.content AS current_content"
        " FROM task t LEFT JOIN LATERAL (SELECT type, content FROM task_key_history"
        " WHERE task_id = t.id AND valid_from <= $2 ORDER BY valid_from DESC LIMIT 1) h"
        " ON true WHERE t.id = $1",
        task_id,
        at,
    )


async def get_timezone(conn: raw.Connection, user_id: uuid.UUID) -> str:
    """The user's IANA time zone (the user row must exist)."""
    row = await raw.fetch_one(conn, "SELECT timezone FROM users WHERE id = $1", user_id)
    return str(row.timezone)


async def insert_attempt(conn: raw.Connection, values: dict[str, Any]) -> bool:
    """Insert the attempt; False if (user_id, id) already exists."""
    row = await raw.fetch_optional(
        conn,
        "INSERT INTO user_task_attempt (user_id, id, task_id, theme_id, section_id,"
        " course_id, tries, time_spent_ms, solved, payload, source, occurred_at, local_day,"
        " created_at, fingerprint, answer, graded_by)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CAST($10 AS jsonb), $11, $12, $13, $14, $15,"
        " CAST($16 AS jsonb), $17)"
        " ON CONFLICT (user_id, id) DO NOTHING RETURNING id",
        values["user_id"],
        values["id"],
        values["task_id"],
        values["theme_id"],
        values["section_id"],
        values["course_id"],
        values["tries"],
        values["time_spent_ms"],
        values["solved"],
        raw.jsonb(values["payload"]),
        values["source"],
        values["occurred_at"],
        values["local_day"],
        values["created_at"],
        values["fingerprint"],
        None if values["answer"] is None else raw.jsonb(values["answer"]),
        values["graded_by"],
    )
    return row is not None


async def set_attempt_outcome(
    conn: raw.Connection, user_id: uuid.UUID, attempt_id: uuid.UUID, outcome: str
) -> None:
    """Store what the submission returned (JSON text), for replays."""
    await raw.execute(
        conn,
        "UPDATE user_task_attempt SET outcome = CAST($1 AS jsonb) WHERE user_id = $2 AND id = $3",
        outcome,
        user_id,
        attempt_id,
    )


async def ensure_enrollment(
    conn: raw.Connection, user_id: uuid.UUID, course_id: uuid.UUID, now: datetime
) -> None:
    """Enroll the user in the course unless already enrolled (any status)."""
    await raw.execute(
        conn,
        "INSERT INTO user_course_enrollment (user_id, course_id, status, started_at)"
        " VALUES ($1, $2, 'active', $3) ON CONFLICT DO NOTHING",
        user_id,
        course_id,
        now,
    )


async def upsert_task_state(
    conn: raw.Connection,
    *,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    tries: int,
    time_spent_ms: int,
    solved: bool,
    occurred_at: datetime,
) -> Any:
    """Fold one attempt into user_task_state and the learner's user_totals; ``was_solved``
    tells if the task was solved before, ``one_try_faster`` if this is its fastest one-try
    solve yet.

    Order-independent (sums, least/greatest), so late offline attempts land where they belong.
    user_totals changes only when a task is first solved or solved in one try faster than
    before: its sorted one-try times lose the task's old time and gain the new one.
    """
    return await raw.fetch_one(
        conn,
        "WITH before AS (SELECT status, fastest_one_try_ms FROM user_task_state"
        " WHERE user_id = $1 AND task_id = $2),"
        " change AS (SELECT coalesce((SELECT status = 'solved' FROM before), false) AS was_solved,"
        " (SELECT fastest_one_try_ms FROM before) AS old_ms,"
        " CASE WHEN CAST($3 AS boolean) AND $4 = 1 THEN CAST($5 AS int) END AS new_ms),"
        " totals AS (INSERT INTO user_totals AS u (user_id, solved_tasks, one_try_ms)"
        " SELECT $1, CASE WHEN $3 AND NOT c.was_solved THEN 1 ELSE 0 END,"
        " CASE WHEN c.new_ms < coalesce(c.old_ms, 2147483647) THEN ARRAY[c.new_ms]"
        " ELSE CAST('{}' AS int[]) END FROM change c"
        " WHERE ($3 AND NOT c.was_solved) OR c.new_ms < coalesce(c.old_ms, 2147483647)"
        " ON CONFLICT (user_id) DO UPDATE SET"
        " solved_tasks = u.solved_tasks + excluded.solved_tasks,"
        " one_try_ms = CASE WHEN cardinality(excluded.one_try_ms) = 0 THEN u.one_try_ms"
        " ELSE (SELECT array_agg(n.v ORDER BY n.v) FROM (SELECT o.v FROM unnest(u.one_try_ms)"
        " WITH ORDINALITY AS o(v, i) WHERE o.i IS DISTINCT FROM"
        " array_position(u.one_try_ms, (SELECT old_ms FROM change))"
        " UNION ALL SELECT excluded.one_try_ms[1]) AS n(v)) END)"
        " INSERT INTO user_task_state AS s (user_id, task_id, status, success_count,"
        " failure_count, total_tries, total_time_ms, average_time_ms, first_attempt_at,"
        " last_attempt_at, solved_at, fastest_one_try_ms)"
        " SELECT $1, $2, CASE WHEN v.solved THEN 'solved' ELSE 'in_progress' END,"
        " CASE WHEN v.solved THEN 1 ELSE 0 END, CASE WHEN v.solved THEN 0 ELSE 1 END,"
        " v.tries, v.ms, v.ms, v.at, v.at, CASE WHEN v.solved THEN v.at END,"
        " CASE WHEN v.solved AND v.tries = 1 THEN v.ms END"
        " FROM (SELECT CAST($3 AS boolean) AS solved, CAST($4 AS int) AS tries,"
        " CAST($5 AS int) AS ms, CAST($6 AS timestamptz) AS at) v"
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
        " solved_at = least(s.solved_at, excluded.solved_at),"
        " fastest_one_try_ms = least(s.fastest_one_try_ms, excluded.fastest_one_try_ms)"
        " RETURNING s.status, s.success_count, s.failure_count, s.total_tries,"
        " s.total_time_ms, s.average_time_ms, s.first_attempt_at, s.last_attempt_at,"
        " s.solved_at, (SELECT was_solved FROM change) AS was_solved,"
        " (SELECT coalesce(new_ms < coalesce(old_ms, 2147483647), false) FROM change)"
        " AS one_try_faster",
        user_id,
        task_id,
        solved,
        tries,
        time_spent_ms,
        occurred_at,
    )


def _progress_upsert(
    table: str, key: str, columns: str, source: str, origin: str, total: str
) -> str:
    # One template for section and course progress: the same increments, other scope.
    return (
        f"INSERT INTO {table} AS p (user_id, {columns}, solved_tasks, total_tasks,"
        " percent_complete, attempts_count, total_time_ms, average_time_ms, updated_at)"
        f" SELECT $1, {source}, CAST($2 AS int), {total},"
        f" {PERCENT.format(total=total, solved='CAST($2 AS int)')},"
        " 1, CAST($3 AS int), CAST($3 AS int), CAST($4 AS timestamptz)"
        f" FROM {origin}"
        f" ON CONFLICT (user_id, {key}) DO UPDATE SET"
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
    )


SECTION_PROGRESS_UPSERT = _progress_upsert(
    "user_section_progress",
    "section_id",
    "section_id, course_id",
    "s.id, s.course_id",
    "section s WHERE s.id = $5",
    "s.total_tasks_cached",
)
COURSE_PROGRESS_UPSERT = _progress_upsert(
    "user_course_progress",
    "course_id",
    "course_id",
    "c.id",
    "course c WHERE c.id = $5",
    "c.total_tasks_cached",
)


async def upsert_section_progress(
    conn: raw.Connection,
    *,
    user_id: uuid.UUID,
    section_id: uuid.UUID,
    newly_solved: bool,
    time_spent_ms: int,
    now: datetime,
) -> Any:
    """Fold one attempt into the section's progress; solved moves only on a first solve."""
    return await raw.fetch_one(
        conn, SECTION_PROGRESS_UPSERT, user_id, int(newly_solved), time_spent_ms, now, section_id
    )


async def upsert_course_progress(
    conn: raw.Connection,
    *,
    user_id: uuid.UUID,
    course_id: uuid.UUID,
    newly_solved: bool,
    time_spent_ms: int,
    now: datetime,
) -> Any:
    """Fold one attempt into the course's progress; solved moves only on a first solve."""
    return await raw.fetch_one(
        conn, COURSE_PROGRESS_UPSERT, user_id, int(newly_solved), time_spent_ms, now, course_id
    )


async def complete_enrollment(
    conn: raw.Connection, user_id: uuid.UUID, course_id: uuid.UUID, at: datetime
) -> None:
    """Mark the enrollment completed (once; the first completion time stays)."""
    await raw.execute(
        conn,
        "UPDATE user_course_enrollment SET status = 'completed', completed_at = $1"
        " WHERE user_id = $2 AND course_id = $3 AND status <> 'completed'",
        at,
        user_id,
        course_id,
    )


async def upsert_daily_activity(
    conn: raw.Connection,
    *,
    user_id: uuid.UUID,
    attempt_id: uuid.UUID,
    task_id: uuid.UUID,
    day: date,
    solved: bool,
    in_grace: bool,
    time_spent_ms: int,
) -> Any:
    """Count the (already inserted) attempt on the learner's local day; returns the day's
    new totals and ``new_task``: whether ``solved_tasks`` grew, as it does when no other
    attempt solved the task that day (a look at this user's attempts on this one task).
    ``streak_solved`` counts the solves received within the grace period."""
    return await raw.fetch_one(
        conn,
        "WITH v AS (SELECT CAST($3 AS int) AS solved, CASE WHEN $3 = 1 AND NOT EXISTS"
        " (SELECT 1 FROM user_task_attempt a WHERE a.user_id = $1 AND a.task_id = $5"
        " AND a.local_day = $2 AND a.solved AND a.id <> $6) THEN 1 ELSE 0 END AS new_task),"
        " d AS (INSERT INTO user_daily_activity AS d"
        " (user_id, day, attempts, solved, solved_tasks, time_spent_ms, streak_solved)"
        " SELECT $1, $2, 1, v.solved, v.new_task, $4, CAST($7 AS int) FROM v"
        " ON CONFLICT (user_id, day) DO UPDATE SET attempts = d.attempts + 1,"
        " solved = d.solved + excluded.solved,"
        " solved_tasks = d.solved_tasks + excluded.solved_tasks,"
        " time_spent_ms = d.time_spent_ms + excluded.time_spent_ms,"
        " streak_solved = d.streak_solved + excluded.streak_solved"
        " RETURNING day, attempts, solved, solved_tasks, time_spent_ms, streak_solved)"
        " SELECT d.*, v.new_task = 1 AS new_task FROM d, v",
        user_id,
        day,
        1 if solved else 0,
        time_spent_ms,
        task_id,
        attempt_id,
        1 if solved and in_grace else 0,
    )


async def save_streak(
    conn: raw.Connection,
    user_id: uuid.UUID,
    streak: Any,
    last_grant_day: date | None,
) -> None:
    """Store the streak (a domain.streaks.Streak) and the latest grant day."""
    await raw.execute(
        conn,
        "INSERT INTO user_streak (user_id, current, longest, last_active_day, freezes,"
        " frozen_days, last_grant_day) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (user_id) DO UPDATE SET current = excluded.current,"
        " longest = excluded.longest, last_active_day = excluded.last_active_day,"
        " freezes = excluded.freezes, frozen_days = excluded.frozen_days,"
        " last_grant_day = excluded.last_grant_day",
        user_id,
        streak.run,
        streak.longest,
        streak.last_active_day,
        streak.freezes,
        list(streak.frozen_days),
        last_grant_day,
    )


async def streak_inputs(conn: raw.Connection, user_id: uuid.UUID) -> Any:
    """What the user's streak is folded from: ``days`` (streak days, ascending) and
    ``grant_days`` and ``grant_counts`` (aligned, by day)."""
    return await raw.fetch_one(
        conn,
        "SELECT coalesce((SELECT array_agg(day ORDER BY day) FROM user_daily_activity"
        " WHERE user_id = $1 AND streak_solved > 0), CAST('{}' AS date[])) AS days,"
        " g.days AS grant_days, g.counts AS grant_counts"
        " FROM (SELECT coalesce(array_agg(day ORDER BY day), CAST('{}' AS date[])) AS days,"
        " coalesce(array_agg(count ORDER BY day), CAST('{}' AS int[])) AS counts"
        " FROM user_streak_freeze_grant WHERE user_id = $1) g",
        user_id,
    )


async def zone_in_effect(conn: raw.Connection, user_id: uuid.UUID, at: datetime) -> Any | None:
    """The learner's ``timezone`` and ``floor_day`` in effect at ``at``; None: no such user."""
    return await raw.fetch_optional(
        conn,
        "SELECT coalesce(zn.timezone, u.timezone) AS timezone, zn.floor_day FROM users u"
        + zone_at("u.id", "CAST($2 AS timestamptz)", "zn")
        + " WHERE u.id = $1",
        user_id,
        at,
    )


async def insert_freeze_grant(
    conn: raw.Connection,
    user_id: uuid.UUID,
    *,
    granted_at: datetime,
    day: date,
    count: int,
    reason: str | None,
) -> None:
    await raw.execute(
        conn,
        "INSERT INTO user_streak_freeze_grant (user_id, granted_at, day, count, reason)"
        " VALUES ($1, $2, $3, $4, $5)",
        user_id,
        granted_at,
        day,
        count,
        reason,
    )
