"""What a content change can move for its learners: the queries behind domain.content_awards."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection


async def prepare(
    conn: AsyncConnection,
    *,
    course_keys: Sequence[str],
    node_keys: dict[str, list[str]],
    now: datetime | None = None,
) -> tuple[datetime, list[uuid.UUID]]:
    """The change's moment (``now``, else the transaction's) and the learners enrolled in
    the courses it can touch: those in the file and those that now hold a section, theme or
    task it names (moved away from them). When there are any, takes the recount's SHARE
    lock on user_task_state, so no attempt commits between the counts read before the
    change and those read after."""
    result = await conn.execute(
        text(
            "WITH courses AS ("
            " SELECT id FROM course WHERE key = ANY(:courses)"
            " UNION SELECT course_id FROM section WHERE key = ANY(:sections)"
            " UNION SELECT s.course_id FROM theme th JOIN section s ON s.id = th.section_id"
            " WHERE th.key = ANY(:themes)"
            " UNION SELECT s.course_id FROM task t JOIN theme th ON th.id = t.theme_id"
            " JOIN section s ON s.id = th.section_id WHERE t.key = ANY(:tasks))"
            " SELECT coalesce(CAST(:now AS timestamptz), now()) AS at,"
            " array_agg(DISTINCT e.user_id ORDER BY e.user_id) AS users"
            " FROM user_course_enrollment e WHERE e.course_id IN (SELECT id FROM courses)"
        ),
        {
            "courses": list(course_keys),
            "sections": node_keys["section"],
            "themes": node_keys["theme"],
            "tasks": node_keys["task"],
            "now": now,
        },
    )
    row = result.one()
    users = list(row.users or [])
    if users:
        await conn.execute(text("LOCK TABLE user_task_state IN SHARE MODE"))
    return row.at, users


async def node_counts(conn: AsyncConnection, user_ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    """(user_id, kind, id, solved, total, first_try) of every section, course and theme in
    which the learners have progress; nodes without any count as nothing solved."""
    result = await conn.execute(
        text(
            "SELECT p.user_id, 'section' AS kind, p.section_id AS id, p.solved_tasks AS solved,"
            " s.total_tasks_cached AS total, 0 AS first_try"
            " FROM user_section_progress p JOIN section s ON s.id = p.section_id"
            " WHERE p.user_id = ANY(:users)"
            " UNION ALL SELECT p.user_id, 'course', p.course_id, p.solved_tasks,"
            " c.total_tasks_cached, 0"
            " FROM user_course_progress p JOIN course c ON c.id = p.course_id"
            " WHERE p.user_id = ANY(:users)"
            " UNION ALL SELECT ts.user_id, 'theme', t.theme_id,"
            " CAST(count(*) FILTER (WHERE ts.status = 'solved') AS int),"
            " (SELECT CAST(count(*) AS int) FROM task x WHERE x.theme_id = t.theme_id"
            " AND x.active),"
            " CAST(count(*) FILTER (WHERE ts.status = 'solved' AND ts.failure_count = 0"
            " AND ts.total_tries = ts.success_count) AS int)"
            " FROM user_task_state ts JOIN task t ON t.id = ts.task_id AND t.active"
            " WHERE ts.user_id = ANY(:users) GROUP BY ts.user_id, t.theme_id"
        ),
        {"users": list(user_ids)},
    )
    return list(result.all())


async def record_answer_keys(
    conn: AsyncConnection, task_keys: Sequence[str], now: datetime | None
) -> None:
    """A key history row, valid from ``now`` (the transaction's time if None), for each of
    these tasks whose type or content is not its latest one (domain.grading grades offline
    attempts by the key of their time)."""
    if not task_keys:
        return
    await conn.execute(
        text(
            "INSERT INTO task_key_history (task_id, valid_from, type, content)"
            " SELECT t.id, coalesce(CAST(:now AS timestamptz), now()), t.type, t.content"
            " FROM task t LEFT JOIN LATERAL (SELECT h.type, h.content FROM task_key_history h"
            " WHERE h.task_id = t.id ORDER BY h.valid_from DESC LIMIT 1) last ON true"
            " WHERE t.key = ANY(CAST(:keys AS text[]))"
            " AND (last.type IS DISTINCT FROM t.type OR last.content IS DISTINCT FROM t.content)"
            " ON CONFLICT DO NOTHING"
        ),
        {"now": now, "keys": list(task_keys)},
    )


async def rules_owe_from(
    conn: AsyncConnection, rule_keys: Sequence[str], now: datetime | None
) -> None:
    """Of these rules, those this transaction created owe awards from ``now`` (the
    transaction's time if None), as one created through the API without a backfill. They
    are the rows whose created_at (the column's default, the transaction's time) is now();
    a row already set is not rewritten."""
    if not rule_keys:
        return
    await conn.execute(
        text(
            "UPDATE badge_rule SET awards_from = coalesce(CAST(:now AS timestamptz), now())"
            " WHERE created_at = now() AND key = ANY(CAST(:keys AS text[]))"
            " AND awards_from IS DISTINCT FROM coalesce(CAST(:now AS timestamptz), now())"
        ),
        {"now": now, "keys": list(rule_keys)},
    )
