"""The floor: the course page's whole JSON response built by ONE SQL statement.

It returns the same document as the GraphQL query in ``page_graphql.TREE_QUERY`` (same
keys, same order, same defaults for missing progress rows), so the gap between the two is
what the API layer costs. Global ids are computed in SQL the way ``gql.ids`` does.
"""

import uuid

import asyncpg

import page_dataset


def _global_id(type_name: str, column: str) -> str:
    # urlsafe base64 of "Type:uuid"; under 57 bytes, so encode() adds no line breaks.
    return (
        f"translate(encode(convert_to('{type_name}:' || {column}::text, 'UTF8'), 'base64'),"
        " '+/', '-_')"
    )


_TASKS = f"""
    SELECT count(*) AS total, count(*) FILTER (WHERE ts.status = 'solved') AS solved,
      coalesce(json_agg(json_build_object(
        'id', {_global_id("Task", "t.id")}, 'key', t.key, 'type', upper(t.type),
        'state', json_build_object(
          'status', upper(coalesce(ts.status, 'new')),
          'successCount', coalesce(ts.success_count, 0),
          'totalTries', coalesce(ts.total_tries, 0),
          'solvedAt', ts.solved_at)
      ) ORDER BY t.order_index, t.id), '[]') AS tasks
    FROM task t
    LEFT JOIN user_task_state ts ON ts.user_id = $2 AND ts.task_id = t.id
    WHERE t.theme_id = th.id AND t.active
"""

_THEMES = f"""
    SELECT coalesce(json_agg(json_build_object(
      'id', {_global_id("Theme", "th.id")}, 'title', th.title,
      'progress', json_build_object('solvedTasks', tk.solved, 'totalTasks', tk.total),
      'tasks', tk.tasks
    ) ORDER BY th.order_index, th.id), '[]')
    FROM theme th CROSS JOIN LATERAL ({_TASKS}) tk
    WHERE th.section_id = s.id
"""

_SECTIONS = f"""
    SELECT coalesce(json_agg(json_build_object(
      'id', {_global_id("Section", "s.id")}, 'title', s.title,
      'totalTasks', s.total_tasks_cached,
      'progress', json_build_object(
        'solvedTasks', coalesce(sp.solved_tasks, 0),
        'totalTasks', coalesce(sp.total_tasks, s.total_tasks_cached),
        'percentComplete', coalesce(sp.percent_complete, 0)::float8,
        'averageTimeMs', coalesce(sp.average_time_ms, 0)),
      'themes', ({_THEMES})
    ) ORDER BY s.order_index, s.id), '[]')
    FROM section s
    LEFT JOIN user_section_progress sp ON sp.user_id = $2 AND sp.section_id = s.id
    WHERE s.course_id = c.id
"""

# $1 course id, $2 viewer's user id.
FLOOR_SQL = f"""
SELECT json_build_object('data', json_build_object('course', (
  SELECT json_build_object(
    'id', {_global_id("Course", "c.id")}, 'title', c.title, 'totalTasks', c.total_tasks_cached,
    'progress', json_build_object(
      'solvedTasks', coalesce(cp.solved_tasks, 0),
      'totalTasks', coalesce(cp.total_tasks, c.total_tasks_cached),
      'percentComplete', coalesce(cp.percent_complete, 0)::float8),
    'sections', ({_SECTIONS}))
  FROM course c
  LEFT JOIN user_course_progress cp ON cp.user_id = $2 AND cp.course_id = c.id
  WHERE c.id = $1
)))::text
"""


class FloorClient:
    """One asyncpg connection sending the floor statement (prepared once, then reused)."""

    def __init__(self, conn: asyncpg.Connection, course_id: uuid.UUID) -> None:
        self.conn = conn
        self.course_id = course_id

    @classmethod
    async def connect(cls, database_url: str, course_id: uuid.UUID) -> "FloorClient":
        # UTC, so timestamps render as "+00:00" like the API's isoformat().
        dsn = page_dataset.asyncpg_dsn(database_url)
        conn = await asyncpg.connect(dsn, server_settings={"TimeZone": "UTC"})
        return cls(conn, course_id)

    async def fetch(self, user_id: uuid.UUID) -> str:
        document: str = await self.conn.fetchval(FLOOR_SQL, self.course_id, user_id)
        return document

    async def close(self) -> None:
        await self.conn.close()
