"""Content changes recount the learners' section and course progress, set-based.

Adding, deleting, (de)activating or moving a task, theme or section recounts, in the same
transaction, every per-user progress row of the affected sections and courses from
user_task_state: totals, solved, percent, attempts and time. A progress row exists exactly
when the learner has task state on a task currently in that section or course.

The recount first takes a SHARE lock on user_task_state: it waits for attempts in flight
and holds new ones back until the content change commits, so it never counts from a
snapshot that misses a committed attempt. Attempts never touch content, so the lock order
(content, then user_task_state, then progress rows) is the same everywhere.

Revision ID: 0004
Revises: 0003
"""

import importlib.util
import re
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


FUNCTIONS = """
CREATE OR REPLACE FUNCTION learntrack_recount_course_progress(course_ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(cardinality(course_ids), 0) = 0 THEN
        RETURN;
    END IF;
    LOCK TABLE user_task_state IN SHARE MODE;
    CREATE TEMP TABLE IF NOT EXISTS learntrack_course_agg (
        user_id uuid, course_id uuid, total int, solved int, attempts int, time_ms bigint
    ) ON COMMIT DROP;
    DELETE FROM learntrack_course_agg;
    INSERT INTO learntrack_course_agg
    SELECT ts.user_id, c.id, c.total_tasks_cached,
           count(*) FILTER (WHERE ts.status = 'solved' AND t.active),
           sum(ts.success_count + ts.failure_count), sum(ts.total_time_ms)
    FROM user_task_state ts
    JOIN task t ON t.id = ts.task_id
    JOIN theme th ON th.id = t.theme_id
    JOIN section s ON s.id = th.section_id
    JOIN course c ON c.id = s.course_id
    WHERE c.id = ANY(course_ids)
    GROUP BY ts.user_id, c.id, c.total_tasks_cached;

    DELETE FROM user_course_progress p
    WHERE p.course_id = ANY(course_ids)
      AND NOT EXISTS (
          SELECT 1 FROM learntrack_course_agg a
          WHERE a.user_id = p.user_id AND a.course_id = p.course_id
      );
    INSERT INTO user_course_progress AS p (
        user_id, course_id, solved_tasks, total_tasks, percent_complete,
        attempts_count, total_time_ms, average_time_ms, updated_at
    )
    SELECT user_id, course_id, solved, total,
           CASE WHEN total = 0 THEN 0 ELSE least(100, round(100.0 * solved / total, 2)) END,
           attempts, time_ms, CASE WHEN attempts = 0 THEN 0 ELSE time_ms / attempts END, now()
    FROM learntrack_course_agg
    ON CONFLICT (user_id, course_id) DO UPDATE SET
        solved_tasks = excluded.solved_tasks,
        total_tasks = excluded.total_tasks,
        percent_complete = excluded.percent_complete,
        attempts_count = excluded.attempts_count,
        total_time_ms = excluded.total_time_ms,
        average_time_ms = excluded.average_time_ms,
        updated_at = excluded.updated_at
    WHERE (p.solved_tasks, p.total_tasks, p.percent_complete, p.attempts_count,
           p.total_time_ms, p.average_time_ms)
          IS DISTINCT FROM
          (excluded.solved_tasks, excluded.total_tasks, excluded.percent_complete,
           excluded.attempts_count, excluded.total_time_ms, excluded.average_time_ms);
END;
$$;

CREATE OR REPLACE FUNCTION learntrack_recount_section_progress(section_ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(cardinality(section_ids), 0) = 0 THEN
        RETURN;
    END IF;
    LOCK TABLE user_task_state IN SHARE MODE;
    CREATE TEMP TABLE IF NOT EXISTS learntrack_section_agg (
        user_id uuid, section_id uuid, course_id uuid, total int, solved int, attempts int,
        time_ms bigint
    ) ON COMMIT DROP;
    DELETE FROM learntrack_section_agg;
    INSERT INTO learntrack_section_agg
    SELECT ts.user_id, s.id, s.course_id, s.total_tasks_cached,
           count(*) FILTER (WHERE ts.status = 'solved' AND t.active),
           sum(ts.success_count + ts.failure_count), sum(ts.total_time_ms)
    FROM user_task_state ts
    JOIN task t ON t.id = ts.task_id
    JOIN theme th ON th.id = t.theme_id
    JOIN section s ON s.id = th.section_id
    WHERE s.id = ANY(section_ids)
    GROUP BY ts.user_id, s.id, s.course_id, s.total_tasks_cached;

    DELETE FROM user_section_progress p
    WHERE p.section_id = ANY(section_ids)
      AND NOT EXISTS (
          SELECT 1 FROM learntrack_section_agg a
          WHERE a.user_id = p.user_id AND a.section_id = p.section_id
      );
    INSERT INTO user_section_progress AS p (
        user_id, section_id, course_id, solved_tasks, total_tasks, percent_complete,
        attempts_count, total_time_ms, average_time_ms, updated_at
    )
    SELECT user_id, section_id, course_id, solved, total,
           CASE WHEN total = 0 THEN 0 ELSE least(100, round(100.0 * solved / total, 2)) END,
           attempts, time_ms, CASE WHEN attempts = 0 THEN 0 ELSE time_ms / attempts END, now()
    FROM learntrack_section_agg
    ON CONFLICT (user_id, section_id) DO UPDATE SET
        course_id = excluded.course_id,
        solved_tasks = excluded.solved_tasks,
        total_tasks = excluded.total_tasks,
        percent_complete = excluded.percent_complete,
        attempts_count = excluded.attempts_count,
        total_time_ms = excluded.total_time_ms,
        average_time_ms = excluded.average_time_ms,
        updated_at = excluded.updated_at
    WHERE (p.course_id, p.solved_tasks, p.total_tasks, p.percent_complete, p.attempts_count,
           p.total_time_ms, p.average_time_ms)
          IS DISTINCT FROM
          (excluded.course_id, excluded.solved_tasks, excluded.total_tasks,
           excluded.percent_complete, excluded.attempts_count, excluded.total_time_ms,
           excluded.average_time_ms);
END;
$$;

CREATE OR REPLACE FUNCTION learntrack_recount_courses(course_ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE course c SET total_tasks_cached = n.total
    FROM (
        SELECT c2.id, coalesce(sum(s.total_tasks_cached), 0)::int AS total
        FROM course c2 LEFT JOIN section s ON s.course_id = c2.id
        WHERE c2.id = ANY(course_ids)
        GROUP BY c2.id
    ) n
    WHERE c.id = n.id AND c.total_tasks_cached <> n.total;
    PERFORM learntrack_recount_course_progress(course_ids);
END;
$$;

CREATE OR REPLACE FUNCTION learntrack_recount_sections(section_ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    course_ids uuid[];
BEGIN
    IF coalesce(cardinality(section_ids), 0) = 0 THEN
        RETURN;
    END IF;
    UPDATE section s SET total_tasks_cached = n.total
    FROM (
        SELECT s2.id, count(t.id) FILTER (WHERE t.active)::int AS total
        FROM section s2
        LEFT JOIN theme th ON th.section_id = s2.id
        LEFT JOIN task t ON t.theme_id = th.id
        WHERE s2.id = ANY(section_ids)
        GROUP BY s2.id
    ) n
    WHERE s.id = n.id AND s.total_tasks_cached <> n.total;
    -- The courses the sections are in now and the ones their progress rows still name.
    course_ids := ARRAY(
        SELECT course_id FROM section WHERE id = ANY(section_ids)
        UNION
        SELECT course_id FROM user_section_progress WHERE section_id = ANY(section_ids)
    );
    PERFORM learntrack_recount_section_progress(section_ids);
    PERFORM learntrack_recount_courses(course_ids);
END;
$$;

CREATE OR REPLACE FUNCTION learntrack_section_totals() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM learntrack_recount_courses(ARRAY(SELECT DISTINCT course_id FROM old_rows));
    ELSE
        PERFORM learntrack_recount_sections(ARRAY(
            SELECT n.id FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.course_id IS DISTINCT FROM n.course_id
        ));
        PERFORM learntrack_recount_courses(ARRAY(
            SELECT DISTINCT o.course_id FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.course_id IS DISTINCT FROM n.course_id
        ));
    END IF;
    RETURN NULL;
END;
$$;
"""

DROP = """
DROP FUNCTION learntrack_recount_section_progress(uuid[]);
DROP FUNCTION learntrack_recount_course_progress(uuid[]);
"""


def _execute_each(statements: list[str]) -> None:
    for statement in statements:
        if statement.strip():
            op.execute(statement)


def _previous_revision() -> ModuleType:
    path = Path(__file__).with_name("20261125_0002_content_totals.py")
    spec = importlib.util.spec_from_file_location("content_totals_0002", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _functions(sql: str) -> list[str]:
    # Bodies contain blank lines; every statement ends with "$$;".
    return re.split(r"(?<=\$\$;)\n", sql)


def upgrade() -> None:
    _execute_each(_functions(FUNCTIONS))


def downgrade() -> None:
    previous = _previous_revision()
    # Restore 0002's bodies (same signatures), then drop what 0004 added.
    _execute_each(
        [
            statement.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
            for statement in _functions(previous.FUNCTIONS)
        ]
    )
    _execute_each(DROP.split(";\n"))
