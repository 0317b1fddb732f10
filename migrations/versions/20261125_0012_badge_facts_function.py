"""The badge step's facts statement as a function planned once per connection.

Everything a solving attempt's candidate rules read, and which of their awards the learner
already holds, in one call (see ``db.badge_queries.event_facts``). As a plain prepared
statement PostgreSQL re-planned it on every execution (its array parameters make the generic
plan look costlier than the custom ones), and planning took longer than running it; the
function pins the generic plan for this statement alone (``SET plan_cache_mode``).

Theme counts: the learner's cached row (``user_theme_counts``) when it is of this content
version and not the attempt's own theme; else counted from the task states by primary key,
per theme, and stored (only when changed).

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE FUNCTION learntrack_badge_facts(
    p_user uuid, p_badges uuid[], p_contexts text[], p_solved_total boolean, p_day date,
    p_windows int[], p_fast int[], p_themes uuid[], p_sections uuid[], p_courses uuid[],
    p_version bigint, p_own_theme uuid
) RETURNS TABLE (
    held int[], solved_total int, windows bigint[], fast bigint[],
    themes json, sections json, courses json
)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH wanted AS (SELECT w.id FROM unnest(p_themes) AS w(id)),
    cached AS (
        SELECT c.theme_id, c.solved, c.total, c.first_try
        FROM user_theme_counts c JOIN wanted ON wanted.id = c.theme_id
        WHERE c.user_id = p_user AND c.content_version = p_version
          AND c.theme_id <> p_own_theme
    ),
    counted AS (
        SELECT wanted.id AS theme_id, g.solved, g.total, g.first_try
        FROM wanted CROSS JOIN LATERAL (
            SELECT CAST(count(s.task_id) FILTER (WHERE s.status = 'solved') AS int) AS solved,
                   CAST(count(*) AS int) AS total,
                   CAST(count(s.task_id) FILTER (WHERE s.status = 'solved'
                        AND s.failure_count = 0 AND s.total_tries = s.success_count) AS int)
                       AS first_try
            FROM task t LEFT JOIN LATERAL (
                SELECT * FROM user_task_state s WHERE s.user_id = p_user AND s.task_id = t.id
            ) s ON true
            WHERE t.theme_id = wanted.id AND t.active
        ) g
        WHERE NOT EXISTS (SELECT 1 FROM cached WHERE cached.theme_id = wanted.id)
    ),
    stored AS (
        INSERT INTO user_theme_counts AS u
            (user_id, theme_id, content_version, solved, total, first_try)
        SELECT p_user, counted.theme_id, p_version, counted.solved, counted.total,
               counted.first_try
        FROM counted
        ON CONFLICT (user_id, theme_id) DO UPDATE SET
            content_version = excluded.content_version, solved = excluded.solved,
            total = excluded.total, first_try = excluded.first_try
        WHERE (u.content_version, u.solved, u.total, u.first_try) IS DISTINCT FROM
              (excluded.content_version, excluded.solved, excluded.total, excluded.first_try)
    )
    SELECT
        (SELECT array_agg(CAST(c.o - 1 AS int))
         FROM unnest(p_badges, p_contexts) WITH ORDINALITY AS c(badge_id, context_key, o)
         WHERE EXISTS (SELECT 1 FROM user_badge ub WHERE ub.user_id = p_user
                       AND ub.badge_id = c.badge_id AND ub.context_key = c.context_key)),
        CASE WHEN p_solved_total
             THEN (SELECT ut.solved_tasks FROM user_totals ut WHERE ut.user_id = p_user) END,
        (SELECT array_agg((SELECT coalesce(sum(d.solved), 0) FROM user_daily_activity d
                           WHERE d.user_id = p_user AND d.day > p_day - x.w AND d.day <= p_day)
                          ORDER BY x.o)
         FROM unnest(p_windows) WITH ORDINALITY AS x(w, o)),
        (SELECT array_agg((SELECT count(*) FROM unnest(ut.one_try_ms) AS v WHERE v <= x.m)
                          ORDER BY x.o)
         FROM unnest(p_fast) WITH ORDINALITY AS x(m, o)
         LEFT JOIN user_totals ut ON ut.user_id = p_user),
        (SELECT json_agg(json_build_array(n.theme_id, n.solved, n.total, n.first_try))
         FROM (SELECT * FROM cached UNION ALL SELECT * FROM counted) n WHERE n.total > 0),
        (SELECT json_agg(json_build_array(n.id, coalesce(p.solved_tasks, 0), n.total_tasks_cached))
         FROM section n LEFT JOIN user_section_progress p
              ON p.user_id = p_user AND p.section_id = n.id
         WHERE n.id = ANY(p_sections)),
        (SELECT json_agg(json_build_array(n.id, coalesce(p.solved_tasks, 0), n.total_tasks_cached))
         FROM course n LEFT JOIN user_course_progress p
              ON p.user_id = p_user AND p.course_id = n.id
         WHERE n.id = ANY(p_courses));
END;
$$
"""


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION learntrack_badge_facts(uuid, uuid[], text[], boolean, date, int[],"
        " int[], uuid[], uuid[], uuid[], bigint, uuid)"
    )
