"""Batch reads of content for the dataloaders: one statement per call, results aligned to keys."""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from db import keyset
from db.statements import statement

# Read with every course row, in the same statement (so from the same snapshot): the API
# knows from it whether the tree it built for this version still holds (gql/content/tree.py).
COURSE_COLUMNS = (
    "id, key, title, description, order_index, total_tasks_cached, completion,"
    " (SELECT version FROM content_version) AS content_version"
)
SECTION_COLUMNS = "id, key, course_id, title, order_index, total_tasks_cached"
THEME_COLUMNS = "id, key, section_id, title, order_index"
# content as text: decoding a page's worth of JSONB costs more than the page usually asks
# for, so the API parses it only when the field is requested.
TASK_COLUMNS = (
    "id, key, theme_id, title, type, CAST(content AS text) AS content_json, difficulty,"
    " active, order_index, grading, reveal_after_failures"
)


def _aligned(rows: Sequence[Row[Any]], keys: Sequence[uuid.UUID]) -> list[Row[Any] | None]:
    by_id = {row.id: row for row in rows}
    return [by_id.get(key) for key in keys]


def _grouped(
    rows: Sequence[Row[Any]], parent: str, keys: Sequence[uuid.UUID]
) -> list[list[Row[Any]]]:
    groups: dict[uuid.UUID, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, parent)].append(row)
    return [groups.get(key, []) for key in keys]


async def list_courses(conn: AsyncConnection, page: keyset.Page) -> list[Row[Any]]:
    """One page of the courses in display order (order_index, id), in reading order; retired
    courses are left out."""
    tail, params = keyset.sql_tail(page, ("order_index", "id"), descending=False)
    result = await conn.execute(
        statement(f"SELECT {COURSE_COLUMNS} FROM course WHERE active{tail}"), params
    )
    return list(result.all())


async def courses_by_id(conn: AsyncConnection, ids: Sequence[uuid.UUID]) -> list[Row[Any] | None]:
    """Courses for ``ids``, aligned; None where a course does not exist."""
    result = await conn.execute(
        statement(f"SELECT {COURSE_COLUMNS} FROM course WHERE id = ANY(:ids)"), {"ids": list(ids)}
    )
    return _aligned(result.all(), ids)


async def sections_by_id(conn: AsyncConnection, ids: Sequence[uuid.UUID]) -> list[Row[Any] | None]:
    """Sections for ``ids``, aligned; None where a section does not exist."""
    result = await conn.execute(
        statement(f"SELECT {SECTION_COLUMNS} FROM section WHERE id = ANY(:ids)"), {"ids": list(ids)}
    )
    return _aligned(result.all(), ids)


async def themes_by_id(conn: AsyncConnection, ids: Sequence[uuid.UUID]) -> list[Row[Any] | None]:
    """Themes for ``ids``, aligned; None where a theme does not exist."""
    result = await conn.execute(
        statement(f"SELECT {THEME_COLUMNS} FROM theme WHERE id = ANY(:ids)"), {"ids": list(ids)}
    )
    return _aligned(result.all(), ids)


async def tasks_by_id(conn: AsyncConnection, ids: Sequence[uuid.UUID]) -> list[Row[Any] | None]:
    """Tasks (active or not) for ``ids``, aligned; None where a task does not exist."""
    result = await conn.execute(
        statement(f"SELECT {TASK_COLUMNS} FROM task WHERE id = ANY(:ids)"), {"ids": list(ids)}
    )
    return _aligned(result.all(), ids)


async def _children(
    conn: AsyncConnection,
    columns: str,
    table: str,
    parent: str,
    ids: Sequence[uuid.UUID],
    condition: str = "",
) -> list[list[Row[Any]]]:
    result = await conn.execute(
        statement(
            f"SELECT {columns} FROM {table} WHERE {parent} = ANY(:ids){condition}"
            f" ORDER BY {parent}, order_index, id"
        ),
        {"ids": list(ids)},
    )
    return _grouped(result.all(), parent, ids)


async def sections_by_course(
    conn: AsyncConnection, course_ids: Sequence[uuid.UUID]
) -> list[list[Row[Any]]]:
    """Each course's sections in display order; retired sections are left out."""
    return await _children(conn, SECTION_COLUMNS, "section", "course_id", course_ids, " AND active")


async def themes_by_section(
    conn: AsyncConnection, section_ids: Sequence[uuid.UUID]
) -> list[list[Row[Any]]]:
    """Each section's themes in display order; retired themes are left out."""
    return await _children(conn, THEME_COLUMNS, "theme", "section_id", section_ids, " AND active")


async def active_tasks_by_theme(
    conn: AsyncConnection, theme_ids: Sequence[uuid.UUID]
) -> list[list[Row[Any]]]:
    """Each theme's active tasks in display order (inactive tasks are not part of a course)."""
    return await _children(conn, TASK_COLUMNS, "task", "theme_id", theme_ids, " AND active")


async def badges_by_id(conn: AsyncConnection, ids: Sequence[uuid.UUID]) -> list[Row[Any] | None]:
    """Badges for ``ids``, aligned; None where a badge does not exist."""
    result = await conn.execute(
        statement(
            "SELECT id, key, name, description, media, active FROM badge WHERE id = ANY(:ids)"
        ),
        {"ids": list(ids)},
    )
    return _aligned(result.all(), ids)


async def list_badges(conn: AsyncConnection, page: keyset.Page) -> list[Row[Any]]:
    """One page of the active badges by (key, id), in reading order."""
    tail, params = keyset.sql_tail(page, ("key", "id"), descending=False)
    result = await conn.execute(
        statement(
            f"SELECT id, key, name, description, media, active FROM badge WHERE active{tail}"
        ),
        params,
    )
    return list(result.all())


Tree = tuple[list[Row[Any]], list[Row[Any]], list[Row[Any]]]


async def course_trees(conn: AsyncConnection, course_ids: Sequence[uuid.UUID]) -> list[Tree]:
    """Per course: its sections, themes and active tasks, each in display order.

    Three statements on one connection for any number of courses and tasks.
    """
    sections = await sections_by_course(conn, course_ids)
    section_ids = [row.id for rows in sections for row in rows]
    themes = await themes_by_section(conn, section_ids)
    theme_ids = [row.id for rows in themes for row in rows]
    tasks = await active_tasks_by_theme(conn, theme_ids)
    themes_of = dict(zip(section_ids, themes, strict=True))
    tasks_of = dict(zip(theme_ids, tasks, strict=True))
    trees = []
    for course_sections in sections:
        course_themes = [t for s in course_sections for t in themes_of[s.id]]
        course_tasks = [k for t in course_themes for k in tasks_of[t.id]]
        trees.append((course_sections, course_themes, course_tasks))
    return trees


async def course_tree_snapshots(
    conn: AsyncConnection, course_ids: Sequence[uuid.UUID]
) -> list[tuple[int | None, Tree]]:
    """Per course: the content version and its tree (``course_trees``), all read in one
    REPEATABLE READ snapshot, so each tree is exactly the content of that version.

    Four statements on a connection that has not begun a transaction; the version is None
    only if the ``content_version`` row is missing.
    """
    # Under READ COMMITTED each statement has its own snapshot: a content change committed
    # between the version and the rows would label rows of version V+1 as V.
    await conn.execution_options(isolation_level="REPEATABLE READ")
    version = (await conn.execute(statement("SELECT version FROM content_version"))).scalar()
    trees = await course_trees(conn, course_ids)
    return [(version, tree) for tree in trees]
