"""Triggers that keep total_tasks_cached on section and course equal to the active tasks.

Statement-level with transition tables, so a bulk import or a bulk move costs one recount
per affected section, not one per row.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = """
CREATE FUNCTION learntrack_recount_courses(course_ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE course c SET total_tasks_cached = n.total
    FROM (
        SELECT c2.id, coalesce(sum(s.total_tasks_cached), 0)::int AS total
        FROM course c2 LEFT JOIN section s ON s.course_id = c2.id
        WHERE c2.id = ANY(course_ids)
        GROUP BY c2.id
    ) n
    WHERE c.id = n.id AND c.total_tasks_cached <> n.total;
$$;

CREATE FUNCTION learntrack_recount_sections(section_ids uuid[]) RETURNS void
LANGUAGE sql AS $$
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
    SELECT learntrack_recount_courses(
        ARRAY(SELECT DISTINCT course_id FROM section WHERE id = ANY(section_ids))
    );
$$;

CREATE FUNCTION learntrack_task_totals() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM learntrack_recount_sections(ARRAY(
            SELECT DISTINCT th.section_id FROM new_rows t JOIN theme th ON th.id = t.theme_id
        ));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM learntrack_recount_sections(ARRAY(
            SELECT DISTINCT th.section_id FROM old_rows t JOIN theme th ON th.id = t.theme_id
        ));
    ELSE
        PERFORM learntrack_recount_sections(ARRAY(
            SELECT DISTINCT th.section_id
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            CROSS JOIN LATERAL (VALUES (o.theme_id), (n.theme_id)) AS moved(theme_id)
            JOIN theme th ON th.id = moved.theme_id
            WHERE o.active IS DISTINCT FROM n.active OR o.theme_id IS DISTINCT FROM n.theme_id
        ));
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION learntrack_theme_totals() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM learntrack_recount_sections(ARRAY(SELECT DISTINCT section_id FROM old_rows));
    ELSE
        PERFORM learntrack_recount_sections(ARRAY(
            SELECT DISTINCT moved.section_id
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            CROSS JOIN LATERAL (VALUES (o.section_id), (n.section_id)) AS moved(section_id)
            WHERE o.section_id IS DISTINCT FROM n.section_id
        ));
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION learntrack_section_totals() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM learntrack_recount_courses(ARRAY(SELECT DISTINCT course_id FROM old_rows));
    ELSE
        PERFORM learntrack_recount_courses(ARRAY(
            SELECT DISTINCT moved.course_id
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            CROSS JOIN LATERAL (VALUES (o.course_id), (n.course_id)) AS moved(course_id)
            WHERE o.course_id IS DISTINCT FROM n.course_id
        ));
    END IF;
    RETURN NULL;
END;
$$;
"""

TRIGGERS = """
CREATE TRIGGER task_totals_insert AFTER INSERT ON task
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION learntrack_task_totals();
CREATE TRIGGER task_totals_update AFTER UPDATE ON task
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION learntrack_task_totals();
CREATE TRIGGER task_totals_delete AFTER DELETE ON task
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION learntrack_task_totals();
CREATE TRIGGER theme_totals_update AFTER UPDATE ON theme
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION learntrack_theme_totals();
CREATE TRIGGER theme_totals_delete AFTER DELETE ON theme
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION learntrack_theme_totals();
CREATE TRIGGER section_totals_update AFTER UPDATE ON section
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION learntrack_section_totals();
CREATE TRIGGER section_totals_delete AFTER DELETE ON section
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION learntrack_section_totals();
"""

DROP = """
DROP TRIGGER section_totals_delete ON section;
DROP TRIGGER section_totals_update ON section;
DROP TRIGGER theme_totals_delete ON theme;
DROP TRIGGER theme_totals_update ON theme;
DROP TRIGGER task_totals_delete ON task;
DROP TRIGGER task_totals_update ON task;
DROP TRIGGER task_totals_insert ON task;
DROP FUNCTION learntrack_section_totals();
DROP FUNCTION learntrack_theme_totals();
DROP FUNCTION learntrack_task_totals();
DROP FUNCTION learntrack_recount_sections(uuid[]);
DROP FUNCTION learntrack_recount_courses(uuid[]);
"""


def _execute_each(statements: list[str]) -> None:
    # asyncpg runs one statement per call.
    for statement in statements:
        if statement.strip():
            op.execute(statement)


def upgrade() -> None:
    _execute_each(FUNCTIONS.split("\n\n"))
    _execute_each(TRIGGERS.split(";\n"))


def downgrade() -> None:
    _execute_each(DROP.split(";\n"))
