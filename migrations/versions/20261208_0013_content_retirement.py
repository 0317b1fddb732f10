"""Retiring content by import; completion policy per course; progress only where enrolled.

- ``course.active``, ``section.active``, ``theme.active``: a retired node is kept for history
  but hidden from the course tree (its tasks are deactivated by the import that retires it).
- ``course.completion``: ``live`` (the enrollment is completed exactly while every active
  task is solved; a content change that leaves a task unsolved re-opens it and clears
  ``completed_at``) or ``sticky`` (once completed, it stays completed).
- A learner's section and course progress rows exist only in courses the learner is enrolled
  in: moving a solved task into another course no longer creates progress there. Enrolling
  (by attempt or by ``enrollCourse``) counts the task states the learner already has there.
- Changing a course's completion policy re-applies it to its enrollments.

Revision ID: 0013
Revises: 0012
"""

import importlib.util
import re
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
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
    JOIN user_course_enrollment e ON e.user_id = ts.user_id AND e.course_id = c.id
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

    PERFORM learntrack_apply_completion(course_ids);
END;
$$;

CREATE OR REPLACE FUNCTION learntrack_apply_completion(course_ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- Every active task solved (e.g. the last unsolved one was removed): completed, now.
    UPDATE user_course_enrollment e SET status = 'completed', completed_at = now()
    FROM user_course_progress p
    WHERE p.course_id = ANY(course_ids)
      AND e.user_id = p.user_id AND e.course_id = p.course_id
      AND e.status <> 'completed'
      AND p.total_tasks > 0 AND p.solved_tasks >= p.total_tasks;
    -- A live course is completed only while every active task is solved. A course with no
    -- active task (retired) leaves its enrollments as they were.
    UPDATE user_course_enrollment e SET status = 'active', completed_at = NULL
    FROM course c
    WHERE c.id = ANY(course_ids) AND e.course_id = c.id
      AND c.completion = 'live' AND e.status = 'completed' AND c.total_tasks_cached > 0
      AND NOT EXISTS (
          SELECT 1 FROM user_course_progress p
          WHERE p.user_id = e.user_id AND p.course_id = c.id
            AND p.solved_tasks >= p.total_tasks
      );
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
    JOIN user_course_enrollment e ON e.user_id = ts.user_id AND e.course_id = s.course_id
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

CREATE OR REPLACE FUNCTION learntrack_enrollment_progress() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Task states the learner already has in the course (tasks moved in from a course the
    -- learner is enrolled in) count from the moment of enrolling. Usually there are none.
    INSERT INTO user_section_progress (
        user_id, section_id, course_id, solved_tasks, total_tasks, percent_complete,
        attempts_count, total_time_ms, average_time_ms, updated_at
    )
    SELECT NEW.user_id, s.id, s.course_id, a.solved, s.total_tasks_cached,
           CASE WHEN s.total_tasks_cached = 0 THEN 0
                ELSE least(100, round(100.0 * a.solved / s.total_tasks_cached, 2)) END,
           a.attempts, a.time_ms,
           CASE WHEN a.attempts = 0 THEN 0 ELSE a.time_ms / a.attempts END, now()
    FROM (
        SELECT th.section_id,
               count(*) FILTER (WHERE ts.status = 'solved' AND t.active) AS solved,
               sum(ts.success_count + ts.failure_count) AS attempts,
               sum(ts.total_time_ms) AS time_ms
        FROM section s2
        JOIN theme th ON th.section_id = s2.id
        JOIN task t ON t.theme_id = th.id
        JOIN user_task_state ts ON ts.user_id = NEW.user_id AND ts.task_id = t.id
        WHERE s2.course_id = NEW.course_id
        GROUP BY th.section_id
    ) a JOIN section s ON s.id = a.section_id
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO user_course_progress (
        user_id, course_id, solved_tasks, total_tasks, percent_complete,
        attempts_count, total_time_ms, average_time_ms, updated_at
    )
    SELECT NEW.user_id, c.id, a.solved, c.total_tasks_cached,
           CASE WHEN c.total_tasks_cached = 0 THEN 0
                ELSE least(100, round(100.0 * a.solved / c.total_tasks_cached, 2)) END,
           a.attempts, a.time_ms,
           CASE WHEN a.attempts = 0 THEN 0 ELSE a.time_ms / a.attempts END, now()
    FROM (
        SELECT sum(solved_tasks)::int AS solved, sum(attempts_count)::int AS attempts,
               sum(total_time_ms) AS time_ms
        FROM user_section_progress
        WHERE user_id = NEW.user_id AND course_id = NEW.course_id
    ) a, course c
    WHERE c.id = NEW.course_id
    ON CONFLICT DO NOTHING;
    UPDATE user_course_enrollment e SET status = 'completed', completed_at = now()
    FROM user_course_progress p
    WHERE e.user_id = NEW.user_id AND e.course_id = NEW.course_id
      AND p.user_id = e.user_id AND p.course_id = e.course_id AND e.status <> 'completed'
      AND p.total_tasks > 0 AND p.solved_tasks >= p.total_tasks;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION learntrack_course_completion() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM learntrack_apply_completion(ARRAY(
        SELECT n.id FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE o.completion IS DISTINCT FROM n.completion
    ));
    RETURN NULL;
END;
$$;
"""

TRIGGERS = [
    "CREATE TRIGGER enrollment_progress AFTER INSERT ON user_course_enrollment"
    " FOR EACH ROW EXECUTE FUNCTION learntrack_enrollment_progress()",
    "CREATE TRIGGER course_completion_update AFTER UPDATE ON course"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION learntrack_course_completion()",
]

# Progress rows in courses the learner is not enrolled in (from tasks moved across courses)
# are no longer kept; they are derived, and a recompute would not rebuild them.
CLEANUP = [
    "DELETE FROM user_section_progress p WHERE NOT EXISTS (SELECT 1 FROM"
    " user_course_enrollment e WHERE e.user_id = p.user_id AND e.course_id = p.course_id)",
    "DELETE FROM user_course_progress p WHERE NOT EXISTS (SELECT 1 FROM"
    " user_course_enrollment e WHERE e.user_id = p.user_id AND e.course_id = p.course_id)",
]

DROP = [
    "DROP TRIGGER course_completion_update ON course",
    "DROP TRIGGER enrollment_progress ON user_course_enrollment",
    "DROP FUNCTION learntrack_course_completion()",
    "DROP FUNCTION learntrack_enrollment_progress()",
]


def _load(name: str, filename: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(filename))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _functions(sql: str) -> list[str]:
    # Bodies contain blank lines; every statement ends with "$$;".
    return [s for s in re.split(r"(?<=\$\$;)\n", sql) if s.strip()]


def upgrade() -> None:
    for table in ("course", "section", "theme"):
        op.add_column(
            table, sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False)
        )
    op.add_column(
        "course", sa.Column("completion", sa.Text(), server_default="live", nullable=False)
    )
    op.create_check_constraint(
        op.f("ck_course_completion"), "course", "completion IN ('live', 'sticky')"
    )
    for statement in _functions(FUNCTIONS) + TRIGGERS + CLEANUP:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP:
        op.execute(statement)
    # 0004's section recount and 0009's course recount (same signatures) come back.
    section = _load("progress_recount_0004", "20261125_0004_progress_recount.py")
    header = "CREATE OR REPLACE FUNCTION learntrack_recount_section_progress"
    (previous_section,) = [
        s for s in section._functions(section.FUNCTIONS) if s.strip().startswith(header)
    ]
    op.execute(previous_section)
    op.execute(
        _load(
            "complete_on_content_change_0009", "20261125_0009_complete_on_content_change.py"
        ).FUNCTION
    )
    op.execute("DROP FUNCTION learntrack_apply_completion(uuid[])")
    op.drop_constraint(op.f("ck_course_completion"), "course", type_="check")
    op.drop_column("course", "completion")
    for table in ("theme", "section", "course"):
        op.drop_column(table, "active")
