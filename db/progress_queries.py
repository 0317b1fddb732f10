"""Batch reads of per-user progress, keyed by (user_id, content id), aligned to the keys.

Every query filters by user id first, so under Citus each one routes to the user's shard.
"""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import CursorResult, Row
from sqlalchemy.ext.asyncio import AsyncConnection

from db import raw
from db.statements import statement

UserKey = tuple[uuid.UUID, uuid.UUID]

PROGRESS_COLUMNS = (
    "solved_tasks, total_tasks, percent_complete, attempts_count, total_time_ms,"
    " average_time_ms, updated_at"
)


def _split(keys: Sequence[UserKey]) -> dict[str, list[uuid.UUID]]:
    return {"users": [k[0] for k in keys], "ids": [k[1] for k in keys]}


def _aligned(
    rows: Sequence[Row[Any]], keys: Sequence[UserKey], column: str
) -> list[Row[Any] | None]:
    by_key = {(row.user_id, getattr(row, column)): row for row in rows}
    return [by_key.get(key) for key in keys]


async def _progress_rows(
    conn: AsyncConnection, table: str, column: str, keys: Sequence[UserKey]
) -> list[Row[Any] | None]:
    result = await conn.execute(
        statement(
            f"SELECT p.user_id, p.{column}, {PROGRESS_COLUMNS} FROM {table} p"
            " JOIN unnest(CAST(:users AS uuid[]), CAST(:ids AS uuid[])) AS k(user_id, id)"
            f" ON p.user_id = k.user_id AND p.{column} = k.id"
        ),
        _split(keys),
    )
    return _aligned(result.all(), keys, column)


async def course_progress_by_user_course(
    conn: AsyncConnection, keys: Sequence[UserKey]
) -> list[Row[Any] | None]:
    """user_course_progress rows for (user_id, course_id) keys; None where none exists."""
    return await _progress_rows(conn, "user_course_progress", "course_id", keys)


async def section_progress_by_user_section(
    conn: AsyncConnection, keys: Sequence[UserKey]
) -> list[Row[Any] | None]:
    """user_section_progress rows for (user_id, section_id) keys; None where none exists."""
    return await _progress_rows(conn, "user_section_progress", "section_id", keys)


async def theme_progress_by_user_theme(
    conn: AsyncConnection, keys: Sequence[UserKey]
) -> list[Row[Any] | None]:
    """Solved and total ACTIVE tasks per (user_id, theme_id); themes are small, so counted live."""
    result = await conn.execute(
        statement(
            "SELECT k.user_id, k.id AS theme_id, count(t.id) AS total_tasks,"
            " count(s.task_id) FILTER (WHERE s.status = 'solved') AS solved_tasks"
            " FROM unnest(CAST(:users AS uuid[]), CAST(:ids AS uuid[])) AS k(user_id, id)"
            " JOIN task t ON t.theme_id = k.id AND t.active"
            " LEFT JOIN user_task_state s ON s.user_id = k.user_id AND s.task_id = t.id"
            " GROUP BY k.user_id, k.id"
        ),
        _split(keys),
    )
    return _aligned(result.all(), keys, "theme_id")


async def task_state_by_user_task(
    conn: AsyncConnection, keys: Sequence[UserKey]
) -> list[Row[Any] | None]:
    """user_task_state rows for (user_id, task_id) keys; None where the user never tried it."""
    result = await conn.execute(
        statement(
            "SELECT s.user_id, s.task_id, s.status, s.success_count, s.failure_count,"
            " s.total_tries, s.total_time_ms, s.average_time_ms, s.first_attempt_at,"
            " s.last_attempt_at, s.solved_at"
            " FROM user_task_state s"
            " JOIN unnest(CAST(:users AS uuid[]), CAST(:ids AS uuid[])) AS k(user_id, id)"
            " ON s.user_id = k.user_id AND s.task_id = k.id"
        ),
        _split(keys),
    )
    return _aligned(result.all(), keys, "task_id")


KEYS = "unnest(CAST(:users AS uuid[]), CAST(:ids AS uuid[])) AS k(user_id, course_id)"


def _named_tuples(result: CursorResult[Any]) -> list[Any]:
    # A course page reads a dozen attributes of each of ~500 task states: as named tuples
    # (db.raw's rows) rather than SQLAlchemy Rows that is a visible share of the page.
    make = raw.row_maker(result.keys())
    return [make(row) for row in result]


async def course_tree_progress(
    conn: AsyncConnection, keys: Sequence[UserKey]
) -> list[tuple[list[Any], list[Any]]]:
    """Per (user_id, course_id): the user's section progress rows and task state rows, as
    named tuples.

    Two statements on one connection, whatever the number of courses and tasks. Theme
    progress is not stored: the caller counts it from the task states and the tree.
    """
    params = _split(keys)
    sections = await conn.execute(
        statement(
            f"SELECT p.user_id, p.course_id, p.section_id, {PROGRESS_COLUMNS}"
            f" FROM user_section_progress p"
            f" JOIN {KEYS} ON p.user_id = k.user_id AND p.course_id = k.course_id"
        ),
        params,
    )
    tasks = await conn.execute(
        statement(
            "SELECT k.user_id, k.course_id, s.task_id, s.status, s.success_count,"
            " s.failure_count, s.total_tries, s.total_time_ms, s.average_time_ms,"
            " s.first_attempt_at, s.last_attempt_at, s.solved_at"
            f" FROM {KEYS} JOIN section sec ON sec.course_id = k.course_id"
            " JOIN theme th ON th.section_id = sec.id JOIN task t ON t.theme_id = th.id"
            " JOIN user_task_state s ON s.user_id = k.user_id AND s.task_id = t.id"
        ),
        params,
    )
    grouped: dict[UserKey, tuple[list[Any], list[Any]]] = {key: ([], []) for key in keys}
    for position, rows in ((0, _named_tuples(sections)), (1, _named_tuples(tasks))):
        for row in rows:
            grouped[(row.user_id, row.course_id)][position].append(row)
    return [grouped[key] for key in keys]
