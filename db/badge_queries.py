"""Badge rules, the facts they are evaluated over, and awards."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from db import keyset, raw
from db.attempt_queries import local_day_sql, zone_at
from db.statements import statement

RULE_COLUMNS = "r.id, r.key, r.badge_id, r.type, r.criteria, r.scope_key, r.active, r.created_at"


async def active_rules_with_version(conn: raw.Connection) -> tuple[int, list[Any]]:
    """The content version and, as of it (one statement, one snapshot), the active rules
    of active badges."""
    rows = await raw.fetch(
        conn,
        "SELECT v.version, r.id, r.badge_id, r.type, r.criteria, r.scope_key, r.active"
        " FROM content_version v LEFT JOIN (badge_rule r JOIN badge b ON b.id = r.badge_id"
        " AND b.active) ON r.active ORDER BY r.id",
    )
    return int(rows[0].version), [row for row in rows if row.id is not None]


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


async def rules_by_id(
    conn: AsyncConnection, rule_ids: Sequence[uuid.UUID]
) -> list[Row[Any] | None]:
    """Rules (active or not) aligned to ``rule_ids``; None where there is none."""
    found = {row.id: row for row in await rules(conn, rule_ids=rule_ids, active_only=False)}
    return [found.get(rule_id) for rule_id in rule_ids]


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


async def best_day_solved(conn: AsyncConnection, user_id: uuid.UUID) -> int:
    """The most distinct tasks the user solved on one local day."""
    result = await conn.execute(
        statement(
            "SELECT coalesce(max(solved_tasks), 0) FROM user_daily_activity WHERE user_id = :u"
        ),
        {"u": user_id},
    )
    return int(result.scalar() or 0)


async def solved_total(conn: AsyncConnection, user_id: uuid.UUID) -> int:
    """Tasks the user ever solved."""
    result = await conn.execute(
        statement("SELECT solved_tasks FROM user_totals WHERE user_id = :u"), {"u": user_id}
    )
    return int(result.scalar() or 0)


async def fast_counts(
    conn: AsyncConnection, user_id: uuid.UUID, limits_ms: Sequence[int]
) -> list[int]:
    """Per limit, the tasks whose fastest one-try solve took at most that many ms."""
    result = await conn.execute(
        statement(
            "SELECT (SELECT count(*) FROM unnest(t.one_try_ms) AS v WHERE v <= x.m)"
            " FROM unnest(CAST(:limits AS int[])) WITH ORDINALITY AS x(m, o)"
            " LEFT JOIN user_totals t ON t.user_id = :u ORDER BY x.o"
        ),
        {"u": user_id, "limits": list(limits_ms)},
    )
    return [int(n) for n in result.scalars()]


async def window_counts(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    days: Sequence[int],
    now: datetime,
    day_start_hour: int = 0,
) -> list[int]:
    """Per window, solving attempts on the last ``days`` local days up to today (``now`` in
    the time zone in effect, days starting at ``day_start_hour``)."""
    result = await conn.execute(
        statement(
            "SELECT (SELECT coalesce(sum(d.solved), 0) FROM user_daily_activity d"
            " WHERE d.user_id = :u AND d.day > t.today - x.w AND d.day <= t.today)"
            " FROM unnest(CAST(:days AS int[])) WITH ORDINALITY AS x(w, o),"
            " (SELECT "
            + local_day_sql(
                "CAST(:now AS timestamptz)",
                "coalesce(zn.timezone, u.timezone)",
                "zn.floor_day",
                ":ds",
            )
            + " AS today"
            " FROM users u"
            + zone_at("u.id", "CAST(:now AS timestamptz)", "zn")
            + " WHERE u.id = :u) t ORDER BY x.o"
        ),
        {"u": user_id, "days": list(days), "now": now, "ds": day_start_hour},
    )
    rows = [int(n) for n in result.scalars()]
    return rows or [0] * len(days)


# Runs for every solving attempt that has rules to evaluate, so it goes to asyncpg directly.
async def event_facts(
    conn: raw.Connection,
    *,
    user_id: uuid.UUID,
    held_badges: Sequence[uuid.UUID],
    held_contexts: Sequence[str],
    solved_total: bool,
    day: date,
    window_days: Sequence[int],
    fast_ms: Sequence[int],
    theme_ids: Sequence[uuid.UUID],
    section_ids: Sequence[uuid.UUID],
    course_ids: Sequence[uuid.UUID],
    content_version: int,
    own_theme_id: uuid.UUID,
) -> Any:
    """The facts one attempt's rules read, in one statement; what is not asked is null.

    held: the positions (0-based) of the (badge, context) pairs the user already holds;
    solved_total: tasks ever solved (user_totals); windows: solving attempts on the
    ``window_days`` local days ending on ``day``; fast: tasks whose fastest one-try solve is
    within each of ``fast_ms`` (user_totals' sorted times);
    themes, sections, courses: JSON [[id, solved, total, first_try?], ...] for the ids given;
    theme counts come from user_theme_counts when stored at ``content_version`` for a theme
    other than ``own_theme_id`` (the attempt's, whose counts it just changed), and are
    counted and stored otherwise.
    Every part reads a handful of narrow rows, never the attempt history or every task state.
    """
    return await raw.fetch_one(
        conn,
        # The statement is a function (migration 0012): it keeps one generic plan.
        "SELECT * FROM learntrack_badge_facts($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        user_id,
        list(held_badges),
        list(held_contexts),
        solved_total,
        day,
        list(window_days),
        list(fast_ms),
        list(theme_ids),
        list(section_ids),
        list(course_ids),
        content_version,
        own_theme_id,
    )


# --- awards -----------------------------------------------------------------------------


# Runs for every solving attempt that earns something, so it goes to asyncpg directly.
async def insert_awards(conn: raw.Connection, awards: Sequence[dict[str, Any]]) -> list[Any]:
    """Insert awards; those already held (same user, badge, context) are skipped.

    Returns the (user_id, badge_id, context_key) actually inserted.
    """
    if not awards:
        return []
    return await raw.fetch(
        conn,
        "INSERT INTO user_badge (user_id, badge_id, context_key, context, rule_id,"
        " attempt_id, awarded_at, retroactive)"
        " SELECT a.user_id, a.badge_id, a.context_key, CAST(a.context AS jsonb), a.rule_id,"
        " a.attempt_id, a.awarded_at, a.retroactive FROM unnest(CAST($1 AS uuid[]),"
        " CAST($2 AS uuid[]), CAST($3 AS text[]), CAST($4 AS text[]), CAST($5 AS uuid[]),"
        " CAST($6 AS uuid[]), CAST($7 AS timestamptz[]), CAST($8 AS boolean[]))"
        " AS a(user_id, badge_id, context_key, context, rule_id, attempt_id, awarded_at,"
        " retroactive)"
        " ON CONFLICT (user_id, badge_id, context_key) DO NOTHING"
        " RETURNING user_id, badge_id, context_key",
        [a["user_id"] for a in awards],
        [a["badge_id"] for a in awards],
        [a["context_key"] for a in awards],
        [orjson.dumps(a["context"]).decode() for a in awards],
        [a["rule_id"] for a in awards],
        [a["attempt_id"] for a in awards],
        [a["awarded_at"] for a in awards],
        [a["retroactive"] for a in awards],
    )


async def awards_by_user_badge(
    conn: AsyncConnection, keys: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> list[list[Row[Any]]]:
    """Each (user_id, badge_id)'s awards, oldest first (revoked ones are not the
    learner's any more)."""
    result = await conn.execute(
        statement(
            "SELECT ub.user_id, ub.badge_id, ub.context_key, ub.context, ub.rule_id,"
            " ub.attempt_id, ub.awarded_at, ub.retroactive FROM user_badge ub"
            " JOIN unnest(CAST(:users AS uuid[]), CAST(:badges AS uuid[])) AS k(u, b)"
            " ON ub.user_id = k.u AND ub.badge_id = k.b WHERE ub.revoked_at IS NULL"
            " ORDER BY ub.awarded_at, ub.context_key"
        ),
        {"users": [k[0] for k in keys], "badges": [k[1] for k in keys]},
    )
    groups: dict[tuple[uuid.UUID, uuid.UUID], list[Row[Any]]] = {}
    for row in result.all():
        groups.setdefault((row.user_id, row.badge_id), []).append(row)
    return [groups.get(k, []) for k in keys]


async def list_user_awards(
    conn: AsyncConnection, user_id: uuid.UUID, page: keyset.Page
) -> list[Row[Any]]:
    """One page of the user's awards (not revoked), newest first by (awarded_at, badge_id,
    context_key), in reading order."""
    tail, params = keyset.sql_tail(page, ("awarded_at", "badge_id", "context_key"), descending=True)
    result = await conn.execute(
        statement(
            "SELECT user_id, badge_id, context_key, context, rule_id, attempt_id, awarded_at,"
            f" retroactive FROM user_badge WHERE user_id = :u AND revoked_at IS NULL{tail}"
        ),
        {"u": user_id, **params},
    )
    return list(result.all())


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
    """The users' attempts in the order the server recorded them (``received_seq``: items
    of one batch share ``created_at`` but not their place in it)."""
    result = await conn.execute(
        statement(
            "SELECT user_id, id, task_id, tries, time_spent_ms, solved, occurred_at, local_day,"
            " created_at FROM user_task_attempt WHERE user_id = ANY(:users)"
            " ORDER BY user_id, received_seq"
        ),
        {"users": list(user_ids)},
    )
    return list(result.all())


async def freeze_grants(conn: AsyncConnection, user_ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    """The users' streak freeze grants (user_id, granted_at, day, count), oldest first."""
    result = await conn.execute(
        statement(
            "SELECT user_id, granted_at, day, count FROM user_streak_freeze_grant"
            " WHERE user_id = ANY(:users) ORDER BY user_id, granted_at, id"
        ),
        {"users": list(user_ids)},
    )
    return list(result.all())


async def held_awards(
    conn: AsyncConnection, user_ids: Sequence[uuid.UUID]
) -> set[tuple[uuid.UUID, uuid.UUID, str]]:
    """(user_id, badge_id, context_key) of the awards the users hold, revoked ones included:
    a revoked award is never given again for the same (badge, context)."""
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


# --- revocation ---------------------------------------------------------------------------

AWARD_COLUMNS = (
    "user_id, badge_id, context_key, context, rule_id, attempt_id, awarded_at, retroactive,"
    " revoked_at, revoked_by, revoke_reason"
)


async def lock_user(conn: AsyncConnection, user_id: uuid.UUID) -> None:
    """The learner's attempt lock (attempt_queries.lock_user): waits for their attempts."""
    await conn.execute(
        statement(
            "SELECT pg_advisory_xact_lock(hashtextextended(CAST(CAST(:u AS uuid) AS text), 0))"
        ),
        {"u": user_id},
    )


async def revoke_award(
    conn: AsyncConnection,
    *,
    user_id: uuid.UUID,
    badge_id: uuid.UUID,
    context_key: str,
    revoked_by: uuid.UUID,
    reason: str,
    now: datetime,
) -> Row[Any] | None:
    """Mark the award revoked; None when there is no such award not yet revoked."""
    result = await conn.execute(
        statement(
            "UPDATE user_badge SET revoked_at = :now, revoked_by = :by, revoke_reason = :reason"
            " WHERE user_id = :u AND badge_id = :b AND context_key = :k AND revoked_at IS NULL"
            f" RETURNING {AWARD_COLUMNS}"
        ),
        {
            "u": user_id,
            "b": badge_id,
            "k": context_key,
            "by": revoked_by,
            "reason": reason,
            "now": now,
        },
    )
    return result.one_or_none()


async def get_award(
    conn: AsyncConnection, user_id: uuid.UUID, badge_id: uuid.UUID, context_key: str
) -> Row[Any] | None:
    """The award, revoked or not."""
    result = await conn.execute(
        statement(
            f"SELECT {AWARD_COLUMNS} FROM user_badge"
            " WHERE user_id = :u AND badge_id = :b AND context_key = :k"
        ),
        {"u": user_id, "b": badge_id, "k": context_key},
    )
    return result.one_or_none()


async def mark_backfilled(conn: AsyncConnection, rule_ids: Sequence[uuid.UUID] | None) -> None:
    """Clear ``awards_from`` of the rules (every active one when None)."""
    condition = "id = ANY(:ids)" if rule_ids is not None else "active"
    await conn.execute(
        statement(f"UPDATE badge_rule SET awards_from = NULL WHERE {condition}"),
        {"ids": list(rule_ids or [])},
    )
