"""Badge rules, the facts they are evaluated over, and awards."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import bindparam

from db import raw
from db.statements import statement

RULE_COLUMNS = "r.id, r.badge_id, r.type, r.criteria, r.scope_key, r.active"


# Runs for every solving attempt, so it goes to asyncpg directly (db.raw).
async def active_rules_for(
    conn: AsyncConnection,
    pairs: Sequence[tuple[str, str]],
    *,
    user_id: uuid.UUID,
    contexts: dict[str, str],
) -> list[Any]:
    """Active rules of active badges whose (type, scope_key) is one of ``pairs``, except
    those whose award the user already holds in the context this event would give.

    ``contexts`` maps a rule type to the context key its award would have ('' otherwise).
    """
    return await raw.fetch(
        conn,
        f"SELECT {RULE_COLUMNS} FROM badge_rule r JOIN badge b ON b.id = r.badge_id"
        " JOIN unnest(CAST($1 AS text[]), CAST($2 AS text[])) AS k(type, scope)"
        " ON r.type = k.type AND r.scope_key = k.scope"
        " LEFT JOIN unnest(CAST($4 AS text[]), CAST($5 AS text[])) AS c(type, context)"
        " ON c.type = r.type"
        " WHERE r.active AND b.active AND NOT EXISTS (SELECT 1 FROM user_badge ub"
        " WHERE ub.user_id = $3 AND ub.badge_id = r.badge_id"
        " AND ub.context_key = coalesce(c.context, ''))"
        " ORDER BY r.id",
        [p[0] for p in pairs],
        [p[1] for p in pairs],
        user_id,
        list(contexts),
        list(contexts.values()),
    )


async def rules(
    conn: AsyncConnection, *, rule_ids: Sequence[uuid.UUID] | None, active_only: bool
) -> list[Row[Any]]:
    """Rules by id (all when None), optionally only the active ones of active badges."""
    condition = "r.id = ANY(:ids)" if rule_ids is not None else "true"
    if active_only:
        condition += " AND r.active AND b.active"
    result = await conn.execute(
        statement(
            f"SELECT {RULE_COLUMNS} FROM badge_rule r JOIN badge b ON b.id = r.badge_id"
            f" WHERE {condition} ORDER BY r.id"
        ),
        {"ids": list(rule_ids or [])},
    )
    return list(result.all())


async def rules_by_badge(
    conn: AsyncConnection, badge_ids: Sequence[uuid.UUID]
) -> list[list[Row[Any]]]:
    """Each badge's rules (active or not), in creation order."""
    result = await conn.execute(
        statement(
            f"SELECT {RULE_COLUMNS} FROM badge_rule r WHERE r.badge_id = ANY(:ids)"
            " ORDER BY r.badge_id, r.created_at, r.id"
        ),
        {"ids": list(badge_ids)},
    )
    groups: dict[uuid.UUID, list[Row[Any]]] = {}
    for row in result.all():
        groups.setdefault(row.badge_id, []).append(row)
    return [groups.get(b, []) for b in badge_ids]


# --- facts ------------------------------------------------------------------------------


async def section_counts(
    conn: AsyncConnection, user_id: uuid.UUID, section_ids: Sequence[uuid.UUID] | None
) -> list[Row[Any]]:
    """(id, solved, total) for the given sections, or every section when None."""
    result = await conn.execute(
        statement(
            "SELECT s.id, coalesce(p.solved_tasks, 0) AS solved, s.total_tasks_cached AS total"
            " FROM section s LEFT JOIN user_section_progress p"
            " ON p.user_id = :u AND p.section_id = s.id"
            " WHERE CAST(:all AS boolean) OR s.id = ANY(:ids)"
        ),
        {"u": user_id, "all": section_ids is None, "ids": list(section_ids or [])},
    )
    return list(result.all())


async def course_counts(
    conn: AsyncConnection, user_id: uuid.UUID, course_ids: Sequence[uuid.UUID] | None
) -> list[Row[Any]]:
    """(id, solved, total) for the given courses, or every course when None."""
    result = await conn.execute(
        statement(
            "SELECT c.id, coalesce(p.solved_tasks, 0) AS solved, c.total_tasks_cached AS total"
            " FROM course c LEFT JOIN user_course_progress p"
            " ON p.user_id = :u AND p.course_id = c.id"
            " WHERE CAST(:all AS boolean) OR c.id = ANY(:ids)"
        ),
        {"u": user_id, "all": course_ids is None, "ids": list(course_ids or [])},
    )
    return list(result.all())


async def theme_counts(
    conn: AsyncConnection, user_id: uuid.UUID, theme_ids: Sequence[uuid.UUID] | None
) -> list[Row[Any]]:
    """(id, solved, total, first_try) over active tasks, for the given themes or all."""
    result = await conn.execute(
        statement(
            "SELECT th.id, count(s.task_id) FILTER (WHERE s.status = 'solved') AS solved,"
            " count(t.id) AS total,"
            " count(s.task_id) FILTER (WHERE s.status = 'solved' AND s.failure_count = 0"
            " AND s.total_tries = s.success_count) AS first_try"
            " FROM theme th LEFT JOIN task t ON t.theme_id = th.id AND t.active"
            " LEFT JOIN user_task_state s ON s.user_id = :u AND s.task_id = t.id"
            " WHERE CAST(:all AS boolean) OR th.id = ANY(:ids) GROUP BY th.id"
        ),
        {"u": user_id, "all": theme_ids is None, "ids": list(theme_ids or [])},
    )
    return list(result.all())


async def longest_streak(conn: AsyncConnection, user_id: uuid.UUID) -> int:
    result = await conn.execute(
        statement("SELECT longest FROM user_streak WHERE user_id = :u"), {"u": user_id}
    )
    return int(result.scalar() or 0)


async def day_solved(conn: AsyncConnection, user_id: uuid.UUID, day: date | None) -> int:
    """Distinct tasks solved on one local day, or on the best day when ``day`` is None."""
    result = await conn.execute(
        statement(
            "SELECT coalesce(max(n), 0) FROM (SELECT count(DISTINCT task_id) AS n"
            " FROM user_task_attempt WHERE user_id = :u AND solved"
            " AND (CAST(:day AS date) IS NULL OR local_day = :day) GROUP BY local_day) d"
        ),
        {"u": user_id, "day": day},
    )
    return int(result.scalar() or 0)


async def solved_total(conn: AsyncConnection, user_id: uuid.UUID) -> int:
    result = await conn.execute(
        statement("SELECT count(*) FROM user_task_state WHERE user_id = :u AND status = 'solved'"),
        {"u": user_id},
    )
    return int(result.scalar() or 0)


async def fast_solves(conn: AsyncConnection, user_id: uuid.UUID) -> list[int]:
    """Per task, the fastest solve in one try (ms), ascending."""
    result = await conn.execute(
        statement(
            "SELECT min(time_spent_ms) AS ms FROM user_task_attempt"
            " WHERE user_id = :u AND solved AND tries = 1 GROUP BY task_id ORDER BY ms"
        ),
        {"u": user_id},
    )
    return [int(ms) for ms in result.scalars()]


async def solve_times(
    conn: AsyncConnection, user_id: uuid.UUID, since: datetime, until: datetime
) -> list[datetime]:
    """occurredAt of the user's solving attempts in [since, until], ascending."""
    result = await conn.execute(
        statement(
            "SELECT occurred_at FROM user_task_attempt WHERE user_id = :u AND solved"
            " AND occurred_at BETWEEN :since AND :until ORDER BY occurred_at"
        ),
        {"u": user_id, "since": since, "until": until},
    )
    return list(result.scalars())


async def event_facts(
    conn: AsyncConnection,
    *,
    user_id: uuid.UUID,
    theme_id: uuid.UUID | None,
    day: date | None,
    solved_total: bool,
    at: datetime,
    window_days: Sequence[int],
    fast_ms: Sequence[int],
) -> Any:
    """The facts one attempt's rules read, in one statement; what is not asked is null.

    theme: [solved, total, first_try] over the theme's active tasks; day_solved: distinct
    tasks solved on the local day; windows: solving attempts in the ``window_days`` days up
    to ``at``; fast: tasks solved in one try within each of ``fast_ms`` milliseconds.
    """
    return await raw.fetch_one(
        conn,
        "SELECT"
        " CASE WHEN CAST($2 AS uuid) IS NOT NULL THEN (SELECT ARRAY["
        " count(s.task_id) FILTER (WHERE s.status = 'solved'), count(t.id),"
        " count(s.task_id) FILTER (WHERE s.status = 'solved' AND s.failure_count = 0"
        " AND s.total_tries = s.success_count)]"
        " FROM task t LEFT JOIN user_task_state s ON s.user_id = $1 AND s.task_id = t.id"
        " WHERE t.theme_id = $2 AND t.active) END AS theme,"
        " CASE WHEN CAST($3 AS date) IS NOT NULL THEN (SELECT count(DISTINCT task_id)"
        " FROM user_task_attempt WHERE user_id = $1 AND solved AND local_day = $3) END"
        " AS day_solved,"
        " CASE WHEN $4 THEN (SELECT count(*) FROM user_task_state"
        " WHERE user_id = $1 AND status = 'solved') END AS solved_total,"
        " (SELECT array_agg((SELECT count(*) FROM user_task_attempt a WHERE a.user_id = $1"
        " AND a.solved AND a.occurred_at BETWEEN CAST($5 AS timestamptz) - make_interval(days => w)"
        " AND CAST($5 AS timestamptz))"
        " ORDER BY o) FROM unnest(CAST($6 AS int[])) WITH ORDINALITY AS x(w, o)) AS windows,"
        " (SELECT array_agg((SELECT count(DISTINCT a.task_id) FROM user_task_attempt a"
        " WHERE a.user_id = $1 AND a.solved AND a.tries = 1 AND a.time_spent_ms <= m)"
        " ORDER BY o) FROM unnest(CAST($7 AS int[])) WITH ORDINALITY AS x(m, o)) AS fast",
        user_id,
        theme_id,
        day,
        solved_total,
        at,
        list(window_days),
        list(fast_ms),
    )


# --- awards -----------------------------------------------------------------------------


async def insert_awards(conn: AsyncConnection, awards: Sequence[dict[str, Any]]) -> list[Row[Any]]:
    """Insert awards; those already held (same user, badge, context) are skipped.

    Returns the (user_id, badge_id, context_key) actually inserted.
    """
    if not awards:
        return []
    result = await conn.execute(
        statement(
            "INSERT INTO user_badge (user_id, badge_id, context_key, context, rule_id,"
            " attempt_id, awarded_at, retroactive)"
            " SELECT a.user_id, a.badge_id, a.context_key, a.context, a.rule_id, a.attempt_id,"
            " a.awarded_at, a.retroactive FROM jsonb_to_recordset(:awards) AS a(user_id uuid,"
            " badge_id uuid, context_key text, context jsonb, rule_id uuid, attempt_id uuid,"
            " awarded_at timestamptz, retroactive boolean)"
            " ON CONFLICT (user_id, badge_id, context_key) DO NOTHING"
            " RETURNING user_id, badge_id, context_key"
        ).bindparams(bindparam("awards", type_=JSONB)),
        {"awards": [_jsonable(a) for a in awards]},
    )
    return list(result.all())


def _jsonable(award: dict[str, Any]) -> dict[str, Any]:
    return {
        key: str(value)
        if isinstance(value, uuid.UUID)
        else value.isoformat()
        if isinstance(value, datetime)
        else value
        for key, value in award.items()
    }


async def awards_by_user_badge(
    conn: AsyncConnection, keys: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> list[list[Row[Any]]]:
    """Each (user_id, badge_id)'s awards, oldest first."""
    result = await conn.execute(
        statement(
            "SELECT ub.user_id, ub.badge_id, ub.context_key, ub.context, ub.rule_id,"
            " ub.attempt_id, ub.awarded_at, ub.retroactive FROM user_badge ub"
            " JOIN unnest(CAST(:users AS uuid[]), CAST(:badges AS uuid[])) AS k(u, b)"
            " ON ub.user_id = k.u AND ub.badge_id = k.b ORDER BY ub.awarded_at, ub.context_key"
        ),
        {"users": [k[0] for k in keys], "badges": [k[1] for k in keys]},
    )
    groups: dict[tuple[uuid.UUID, uuid.UUID], list[Row[Any]]] = {}
    for row in result.all():
        groups.setdefault((row.user_id, row.badge_id), []).append(row)
    return [groups.get(k, []) for k in keys]


async def list_user_awards(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    *,
    before: tuple[datetime, uuid.UUID, str] | None,
    limit: int,
) -> list[Row[Any]]:
    """The user's awards, newest first by (awarded_at, badge_id, context_key)."""
    condition = (
        ""
        if before is None
        else (" AND (awarded_at, badge_id, context_key) < (:at, :badge, :context)")
    )
    params: dict[str, Any] = {"u": user_id, "limit": limit}
    if before is not None:
        params.update(at=before[0], badge=before[1], context=before[2])
    result = await conn.execute(
        statement(
            "SELECT user_id, badge_id, context_key, context, rule_id, attempt_id, awarded_at,"
            f" retroactive FROM user_badge WHERE user_id = :u{condition}"
            " ORDER BY awarded_at DESC, badge_id DESC, context_key DESC LIMIT :limit"
        ),
        params,
    )
    return list(result.all())


# --- backfill ---------------------------------------------------------------------------


async def content_placement(conn: AsyncConnection) -> list[Row[Any]]:
    """Every task with its theme, section, course and active flag."""
    result = await conn.execute(
        statement(
            "SELECT t.id, t.theme_id, th.section_id, s.course_id, t.active,"
            " s.total_tasks_cached AS section_total, c.total_tasks_cached AS course_total"
            " FROM task t JOIN theme th ON th.id = t.theme_id"
            " JOIN section s ON s.id = th.section_id JOIN course c ON c.id = s.course_id"
        )
    )
    return list(result.all())


async def attempts_in_processing_order(
    conn: AsyncConnection, user_ids: Sequence[uuid.UUID]
) -> list[Row[Any]]:
    """The users' attempts in the order the server recorded them."""
    result = await conn.execute(
        statement(
            "SELECT user_id, id, task_id, tries, time_spent_ms, solved, occurred_at, local_day"
            " FROM user_task_attempt WHERE user_id = ANY(:users)"
            " ORDER BY user_id, created_at, id"
        ),
        {"users": list(user_ids)},
    )
    return list(result.all())


async def held_awards(
    conn: AsyncConnection, user_ids: Sequence[uuid.UUID]
) -> set[tuple[uuid.UUID, uuid.UUID, str]]:
    """(user_id, badge_id, context_key) of the awards the users hold."""
    result = await conn.execute(
        statement(
            "SELECT user_id, badge_id, context_key FROM user_badge WHERE user_id = ANY(:users)"
        ),
        {"users": list(user_ids)},
    )
    return {(r.user_id, r.badge_id, r.context_key) for r in result}


async def learners_with_attempts(
    conn: AsyncConnection, *, after: uuid.UUID | None
) -> list[uuid.UUID]:
    """Users with attempts, in id order, after ``after`` (to resume an interrupted run)."""
    result = await conn.execute(
        statement(
            "SELECT id FROM users u WHERE (CAST(:after AS uuid) IS NULL OR u.id > :after)"
            " AND EXISTS (SELECT 1 FROM user_task_attempt a WHERE a.user_id = u.id)"
            " ORDER BY id"
        ),
        {"after": after},
    )
    return list(result.scalars())
