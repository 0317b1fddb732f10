"""Content and progress made with plain SQL, for tests that need many rows quickly."""

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class CourseTree:
    course_id: uuid.UUID
    section_ids: list[uuid.UUID]
    theme_ids: list[uuid.UUID]
    task_ids: list[uuid.UUID]


async def make_course(
    conn: AsyncConnection, *, sections: int, themes: int, tasks: int, key: str | None = None
) -> CourseTree:
    """A course of ``sections`` × ``themes`` per section × ``tasks`` per theme, in 4 statements."""
    key = key or f"course-{uuid.uuid4().hex[:8]}"
    course_id = (
        await conn.execute(
            text("INSERT INTO course (key, title) VALUES (:key, :key) RETURNING id"), {"key": key}
        )
    ).scalar_one()
    section_ids = list(
        (
            await conn.execute(
                text(
                    "INSERT INTO section (key, title, course_id, order_index)"
                    " SELECT :key || '/s' || g, 'Section ' || g, :course, g"
                    " FROM generate_series(1, :n) g ORDER BY g RETURNING id"
                ),
                {"key": key, "course": course_id, "n": sections},
            )
        ).scalars()
    )
    theme_ids = list(
        (
            await conn.execute(
                text(
                    "INSERT INTO theme (key, title, section_id, order_index)"
                    " SELECT s.key || '/t' || g, 'Theme ' || g, s.id, g"
                    " FROM section s, generate_series(1, :n) g WHERE s.course_id = :course"
                    " ORDER BY s.order_index, g RETURNING id"
                ),
                {"course": course_id, "n": themes},
            )
        ).scalars()
    )
    task_ids = list(
        (
            await conn.execute(
                text(
                    "INSERT INTO task (key, title, type, theme_id, order_index, content)"
                    " SELECT th.key || '/k' || g, 'Task ' || g, 'text', th.id, g,"
                    " jsonb_build_object('question', 'Q' || g)"
                    " FROM theme th JOIN section s ON s.id = th.section_id,"
                    " generate_series(1, :n) g WHERE s.course_id = :course"
                    " ORDER BY s.order_index, th.order_index, g RETURNING id"
                ),
                {"course": course_id, "n": tasks},
            )
        ).scalars()
    )
    return CourseTree(course_id, section_ids, theme_ids, task_ids)


async def solve_tasks(
    conn: AsyncConnection, *, user_id: uuid.UUID, tree: CourseTree, task_ids: list[uuid.UUID]
) -> None:
    """Write an enrollment, solved task states and matching section/course progress rows
    for a user."""
    await conn.execute(
        text("INSERT INTO users (id) VALUES (:u) ON CONFLICT DO NOTHING"), {"u": user_id}
    )
    await conn.execute(
        text(
            "INSERT INTO user_course_enrollment (user_id, course_id, started_at)"
            " VALUES (:u, :c, now()) ON CONFLICT DO NOTHING"
        ),
        {"u": user_id, "c": tree.course_id},
    )
    await conn.execute(
        text(
            "INSERT INTO user_task_state (user_id, task_id, status, success_count, total_tries,"
            " total_time_ms, average_time_ms, first_attempt_at, last_attempt_at, solved_at)"
            " SELECT :u, t, 'solved', 1, 1, 1000, 1000, now(), now(), now()"
            " FROM unnest(CAST(:tasks AS uuid[])) t"
        ),
        {"u": user_id, "tasks": task_ids},
    )
    for table, column, source in (
        ("user_section_progress", "section_id", "th.section_id"),
        ("user_course_progress", "course_id", "s.course_id"),
    ):
        extra = ", course_id" if table == "user_section_progress" else ""
        extra_value = ", min(s.course_id::text)::uuid" if extra else ""
        await conn.execute(
            text(
                f"INSERT INTO {table} (user_id, {column}{extra}, solved_tasks, total_tasks,"
                " percent_complete, attempts_count, total_time_ms, average_time_ms, updated_at)"
                f" SELECT :u, {source}{extra_value}, count(*), max(c.total),"
                " round(100.0 * count(*) / max(c.total), 2), count(*), 1000 * count(*), 1000,"
                " now()"
                " FROM user_task_state ts JOIN task t ON t.id = ts.task_id"
                " JOIN theme th ON th.id = t.theme_id JOIN section s ON s.id = th.section_id"
                f" JOIN LATERAL (SELECT total_tasks_cached AS total FROM"
                f" {'section' if column == 'section_id' else 'course'}"
                f" WHERE id = {source}) c ON true"
                f" WHERE ts.user_id = :u AND s.course_id = :course GROUP BY {source}"
            ),
            {"u": user_id, "course": tree.course_id},
        )
