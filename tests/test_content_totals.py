"""Triggers keep total_tasks_cached on section and course equal to the active tasks below."""

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# What total_tasks_cached must equal, computed from scratch.
RECOUNT = """
SELECT 'section' AS kind, s.key, s.total_tasks_cached AS cached,
       count(t.id) FILTER (WHERE t.active) AS actual
FROM section s LEFT JOIN theme th ON th.section_id = s.id LEFT JOIN task t ON t.theme_id = th.id
GROUP BY s.id
UNION ALL
SELECT 'course', c.key, c.total_tasks_cached, count(t.id) FILTER (WHERE t.active)
FROM course c
LEFT JOIN section s ON s.course_id = c.id
LEFT JOIN theme th ON th.section_id = s.id
LEFT JOIN task t ON t.theme_id = th.id
GROUP BY c.id
"""


# Ids by key of two courses: c1 holds sections s1 (theme t1) and s2 (theme t2); c2 holds
# s3 (theme t3).
Tree = dict[str, uuid.UUID]


async def run(conn: AsyncConnection, sql: str, **params: Any) -> None:
    await conn.execute(text(sql), params)


async def returning_id(conn: AsyncConnection, sql: str, **params: Any) -> uuid.UUID:
    value: uuid.UUID = (await conn.execute(text(sql), params)).scalar_one()
    return value


@pytest.fixture
async def tree(conn: AsyncConnection) -> Tree:
    ids: dict[str, uuid.UUID] = {}
    for course in ("c1", "c2"):
        ids[course] = await returning_id(
            conn, "INSERT INTO course (key, title) VALUES (:k, :k) RETURNING id", k=course
        )
    for section, course in (("s1", "c1"), ("s2", "c1"), ("s3", "c2")):
        ids[section] = await returning_id(
            conn,
            "INSERT INTO section (key, course_id, title) VALUES (:k, :p, :k) RETURNING id",
            k=section,
            p=ids[course],
        )
    for theme, section in (("t1", "s1"), ("t2", "s2"), ("t3", "s3")):
        ids[theme] = await returning_id(
            conn,
            "INSERT INTO theme (key, section_id, title) VALUES (:k, :p, :k) RETURNING id",
            k=theme,
            p=ids[section],
        )
    return ids


async def add_tasks(conn: AsyncConnection, theme: uuid.UUID, *keys: str) -> None:
    """Insert tasks in ONE statement, as a bulk import would."""
    await run(
        conn,
        "INSERT INTO task (key, theme_id, title, type)"
        " SELECT k, :theme, k, 'text' FROM unnest(CAST(:keys AS text[])) AS k",
        theme=theme,
        keys=list(keys),
    )


async def totals(conn: AsyncConnection) -> dict[str, int]:
    """Cached totals by key, after checking every one against a full recount."""
    rows = (await conn.execute(text(RECOUNT))).all()
    assert [(r.kind, r.key) for r in rows if r.cached != r.actual] == []
    return {r.key: r.cached for r in rows}


async def test_new_tasks_are_counted_in_section_and_course(
    conn: AsyncConnection, tree: Tree
) -> None:
    # given an empty tree
    # when tasks are inserted into two sections of c1 and into c2
    await add_tasks(conn, tree["t1"], "a", "b")
    await add_tasks(conn, tree["t2"], "c")
    await add_tasks(conn, tree["t3"], "d")

    # then each section and course counts its own
    assert await totals(conn) == {"s1": 2, "s2": 1, "s3": 1, "c1": 3, "c2": 1}


async def test_inactive_task_is_not_counted(conn: AsyncConnection, tree: Tree) -> None:
    # given an empty tree
    # when an inactive task is inserted
    await run(
        conn,
        "INSERT INTO task (key, theme_id, title, type, active)"
        " VALUES ('x', :t, 'x', 'text', false)",
        t=tree["t1"],
    )

    # then nothing is counted
    assert await totals(conn) == {"s1": 0, "s2": 0, "s3": 0, "c1": 0, "c2": 0}


async def test_deleted_tasks_are_no_longer_counted(conn: AsyncConnection, tree: Tree) -> None:
    # given tasks in two sections
    await add_tasks(conn, tree["t1"], "a", "b")
    await add_tasks(conn, tree["t2"], "c")

    # when one task of each is deleted in one statement
    await run(conn, "DELETE FROM task WHERE key IN ('a', 'c')")

    # then the totals drop
    assert await totals(conn) == {"s1": 1, "s2": 0, "s3": 0, "c1": 1, "c2": 0}


async def test_deactivated_task_leaves_and_reactivated_task_returns(
    conn: AsyncConnection, tree: Tree
) -> None:
    # given two tasks in s1
    await add_tasks(conn, tree["t1"], "a", "b")

    # when one is deactivated
    await run(conn, "UPDATE task SET active = false WHERE key = 'a'")

    # then it is not counted
    assert (await totals(conn))["c1"] == 1

    # when it is reactivated
    await run(conn, "UPDATE task SET active = true WHERE key = 'a'")

    # then it is counted again
    assert await totals(conn) == {"s1": 2, "s2": 0, "s3": 0, "c1": 2, "c2": 0}


async def test_task_moved_to_a_theme_of_another_course_is_recounted_in_both(
    conn: AsyncConnection, tree: Tree
) -> None:
    # given two tasks in s1 of c1
    await add_tasks(conn, tree["t1"], "a", "b")

    # when one moves to theme t3 of section s3 of course c2
    await run(conn, "UPDATE task SET theme_id = :t WHERE key = 'a'", t=tree["t3"])

    # then both sides are right
    assert await totals(conn) == {"s1": 1, "s2": 0, "s3": 1, "c1": 1, "c2": 1}


async def test_task_moved_to_another_section_of_the_same_course(
    conn: AsyncConnection, tree: Tree
) -> None:
    # given two tasks in s1
    await add_tasks(conn, tree["t1"], "a", "b")

    # when one moves to theme t2 of section s2, in the same course
    await run(conn, "UPDATE task SET theme_id = :t WHERE key = 'a'", t=tree["t2"])

    # then the sections change and the course does not
    assert await totals(conn) == {"s1": 1, "s2": 1, "s3": 0, "c1": 2, "c2": 0}


async def test_inactive_task_moved_changes_no_total(conn: AsyncConnection, tree: Tree) -> None:
    # given an active and an inactive task in s1
    await add_tasks(conn, tree["t1"], "a", "b")
    await run(conn, "UPDATE task SET active = false WHERE key = 'b'")

    # when the inactive one moves to c2
    await run(conn, "UPDATE task SET theme_id = :t WHERE key = 'b'", t=tree["t3"])

    # then the totals are unchanged
    assert await totals(conn) == {"s1": 1, "s2": 0, "s3": 0, "c1": 1, "c2": 0}


async def test_theme_moved_to_another_section_takes_its_tasks(
    conn: AsyncConnection, tree: Tree
) -> None:
    # given tasks in t1 (s1, c1) and t3 (s3, c2)
    await add_tasks(conn, tree["t1"], "a", "b")
    await add_tasks(conn, tree["t3"], "c")

    # when theme t1 moves to section s3 of course c2
    await run(conn, "UPDATE theme SET section_id = :s WHERE key = 't1'", s=tree["s3"])

    # then its tasks count there
    assert await totals(conn) == {"s1": 0, "s2": 0, "s3": 3, "c1": 0, "c2": 3}


async def test_section_moved_to_another_course_takes_its_tasks(
    conn: AsyncConnection, tree: Tree
) -> None:
    # given tasks in s1 and s2 of c1
    await add_tasks(conn, tree["t1"], "a", "b")
    await add_tasks(conn, tree["t2"], "c")

    # when section s1 moves to course c2
    await run(conn, "UPDATE section SET course_id = :c WHERE key = 's1'", c=tree["c2"])

    # then the section keeps its total and the courses swap it
    assert await totals(conn) == {"s1": 2, "s2": 1, "s3": 0, "c1": 1, "c2": 2}


async def test_deleted_theme_and_section_take_their_tasks_out(
    conn: AsyncConnection, tree: Tree
) -> None:
    # given tasks in every section
    await add_tasks(conn, tree["t1"], "a")
    await add_tasks(conn, tree["t2"], "b", "c")
    await add_tasks(conn, tree["t3"], "d")

    # when theme t2 and section s3 are deleted (their tasks cascade)
    await run(conn, "DELETE FROM theme WHERE key = 't2'")
    await run(conn, "DELETE FROM section WHERE key = 's3'")

    # then the remaining totals are right
    assert await totals(conn) == {"s1": 1, "s2": 0, "c1": 1, "c2": 0}


async def test_bulk_insert_of_a_thousand_tasks_is_counted(
    conn: AsyncConnection, tree: Tree
) -> None:
    # given one task in s1
    await add_tasks(conn, tree["t1"], "first")

    # when 1,000 tasks, every tenth inactive, are inserted into t1 and t2 in one statement
    await run(
        conn,
        "INSERT INTO task (key, theme_id, title, type, active)"
        " SELECT 'bulk-' || g,"
        " CASE WHEN g % 2 = 0 THEN CAST(:t1 AS uuid) ELSE CAST(:t2 AS uuid) END,"
        " 'Task ' || g, 'text', g % 10 <> 0"
        " FROM generate_series(1, 1000) AS g",
        t1=tree["t1"],
        t2=tree["t2"],
    )

    # then 900 are counted on top of the first, split between the sections
    assert await totals(conn) == {"s1": 1 + 400, "s2": 500, "s3": 0, "c1": 901, "c2": 0}
