"""A content change that leaves a learner with every active task solved completes the course.

The attempt path completes an enrollment when a solve reaches 100%; a deactivated or deleted
last task reaches 100% without any attempt, so the course-progress recount (run by the
content triggers) completes those enrollments too.

Revision ID: 0009
Revises: 0008
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
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

    -- A learner whose remaining tasks were deactivated or removed has completed the course.
    UPDATE user_course_enrollment e SET status = 'completed', completed_at = now()
    FROM user_course_progress p
    WHERE p.course_id = ANY(course_ids)
      AND e.user_id = p.user_id AND e.course_id = p.course_id
      AND e.status <> 'completed'
      AND p.total_tasks > 0 AND p.solved_tasks >= p.total_tasks;
END;
$$;
"""


def _previous_function() -> str:
    path = Path(__file__).with_name("20261125_0004_progress_recount.py")
    spec = importlib.util.spec_from_file_location("progress_recount_0004", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    statements: list[str] = module._functions(module.FUNCTIONS)
    header = "CREATE OR REPLACE FUNCTION learntrack_recount_course_progress"
    (previous,) = [s for s in statements if s.strip().startswith(header)]
    return previous


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute(_previous_function())
