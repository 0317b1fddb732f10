"""Reads of one learner's own records: enrollments, streak, activity, attempts."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from db import keyset
from db.attempt_queries import zone_at
from db.statements import statement

ATTEMPT_COLUMNS = (
    "id, task_id, tries, time_spent_ms, solved, source, occurred_at, local_day, created_at,"
    " graded_by"
)


async def enrollments_by_user(
    conn: AsyncConnection, user_ids: Sequence[uuid.UUID]
) -> list[list[Row[Any]]]:
    """Each user's enrollments, oldest first."""
    result = await conn.execute(
        statement(
            "SELECT user_id, course_id, status, started_at, completed_at"
            " FROM user_course_enrollment WHERE user_id = ANY(:ids)"
            " ORDER BY user_id, started_at, course_id"
        ),
        {"ids": list(user_ids)},
    )
    groups: dict[uuid.UUID, list[Row[Any]]] = {}
    for row in result.all():
        groups.setdefault(row.user_id, []).append(row)
    return [groups.get(u, []) for u in user_ids]


async def get_streak_and_timezone(
    conn: AsyncConnection, user_id: uuid.UUID, now: datetime
) -> Row[Any]:
    """The user's stored streak (nulls when none) and the time zone and floor day in effect
    at ``now`` ('UTC' for unknown users)."""
    result = await conn.execute(
        statement(
            "SELECT coalesce(zn.timezone, u.timezone, 'UTC') AS timezone, zn.floor_day,"
            " s.current, s.longest, s.last_active_day, s.freezes, s.frozen_days"
            " FROM (SELECT CAST(:u AS uuid) AS id) k"
            " LEFT JOIN users u ON u.id = k.id LEFT JOIN user_streak s ON s.user_id = k.id"
            + zone_at("k.id", "CAST(:now AS timestamptz)", "zn")
        ),
        {"u": user_id, "now": now},
    )
    return result.one()


async def list_daily_activity(
    conn: AsyncConnection, user_id: uuid.UUID, first_day: date, last_day: date
) -> list[Row[Any]]:
    """The user's local days with attempts or a streak freeze between ``first_day`` and
    ``last_day`` inclusive; ``frozen``: a freeze covered the day."""
    result = await conn.execute(
        statement(
            "SELECT coalesce(d.day, f.day) AS day, coalesce(d.attempts, 0) AS attempts,"
            " coalesce(d.solved, 0) AS solved, coalesce(d.time_spent_ms, 0) AS time_spent_ms,"
            " f.day IS NOT NULL AS frozen"
            " FROM (SELECT day, attempts, solved, time_spent_ms FROM user_daily_activity"
            " WHERE user_id = :u AND day BETWEEN :first AND :last) d"
            " FULL JOIN (SELECT DISTINCT f.day FROM user_streak s, unnest(s.frozen_days) AS f(day)"
            " WHERE s.user_id = :u AND f.day BETWEEN :first AND :last) f ON f.day = d.day"
            " ORDER BY 1"
        ),
        {"u": user_id, "first": first_day, "last": last_day},
    )
    return list(result.all())


async def list_attempts(
    conn: AsyncConnection, user_id: uuid.UUID, *, task_id: uuid.UUID | None, page: keyset.Page
) -> list[Row[Any]]:
    """One page of the user's attempts, newest first by (occurred_at, id), in reading order."""
    condition = " AND task_id = :task" if task_id is not None else ""
    tail, params = keyset.sql_tail(page, ("occurred_at", "id"), descending=True)
    result = await conn.execute(
        statement(
            f"SELECT {ATTEMPT_COLUMNS} FROM user_task_attempt WHERE user_id = :u{condition}{tail}"
        ),
        {"u": user_id, "task": task_id, **params},
    )
    return list(result.all())


async def attempts_by_user_id(
    conn: AsyncConnection, keys: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> list[Row[Any] | None]:
    """Attempts (with their payload) by (user_id, attempt id), aligned to ``keys``; None
    where there is none."""
    result = await conn.execute(
        statement(
            f"SELECT user_id, {ATTEMPT_COLUMNS}, payload, answer FROM user_task_attempt"
            " WHERE (user_id, id) IN (SELECT * FROM unnest(CAST(:users AS uuid[]),"
            " CAST(:ids AS uuid[])))"
        ),
        {"users": [k[0] for k in keys], "ids": [k[1] for k in keys]},
    )
    found = {(row.user_id, row.id): row for row in result.all()}
    return [found.get(key) for key in keys]
