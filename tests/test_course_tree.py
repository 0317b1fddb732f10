"""The course tree with the viewer's progress on every node, over HTTP."""

import asyncio
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import content_queries
from db import engine as db_engine
from gql import loaders
from gql.content import tree_cache
from gql.ids import to_global_id
from tests.conftest import StatementCounter
from tests.factories import make_course, solve_tasks
from tests.graphql_client import GraphQLClient, error_codes
from tests.lock_waits import HANG_DEADLINE_SECONDS

TREE_QUERY = """
query Tree($id: ID!) {
  course(id: $id) {
    id title totalTasks
    progress { solvedTasks totalTasks percentComplete }
    sections {
      id title totalTasks
      progress { solvedTasks totalTasks percentComplete averageTimeMs }
      themes {
        id title
        progress { solvedTasks totalTasks }
        tasks { id key type state { status successCount totalTries solvedAt } }
      }
    }
  }
}
"""


async def _statements_for_tree(
    client: GraphQLClient,
    engine: AsyncEngine,
    counter: StatementCounter,
    *,
    sections: int,
    themes: int,
    tasks: int,
) -> tuple[int, int]:
    """Statements for the page of a new course: the first request, then a second one."""
    async with engine.begin() as conn:
        tree = await make_course(conn, sections=sections, themes=themes, tasks=tasks)
    user = uuid.uuid4()
    async with engine.begin() as conn:
        await solve_tasks(conn, user_id=user, tree=tree, task_ids=tree.task_ids[::2])
    counts = []
    for _ in range(2):
        before = counter.count
        body = await client.execute(
            TREE_QUERY, {"id": to_global_id("Course", tree.course_id)}, user=user
        )
        counts.append(counter.count - before)
        assert "errors" not in body, body
        course = body["data"]["course"]
        assert course["totalTasks"] == sections * themes * tasks
        assert sum(len(th["tasks"]) for s in course["sections"] for th in s["themes"]) == (
            sections * themes * tasks
        )
    return counts[0], counts[1]


async def test_tree_query_statement_count_does_not_grow_with_tree_size(
    make_client: Callable[..., GraphQLClient],
    clean_db: AsyncEngine,
    count_statements: StatementCounter,
) -> None:
    # The fast paths' counts (graphql-core's standard executor reads the task states and
    # theme progress through the loaders: three statements more, as few for any size).
    client = make_client(fast_execution=True)
    small = await _statements_for_tree(
        client, clean_db, count_statements, sections=1, themes=2, tasks=5
    )
    large = await _statements_for_tree(
        client, clean_db, count_statements, sections=10, themes=5, tasks=20
    )
    assert small == large
    # First request: the course with the content version, its progress, the tree's
    # snapshot (the version again, sections, themes, tasks), section progress and task
    # states; theme progress is counted from the task states.
    # Later requests at the same content version reuse the tree: four statements.
    assert large == (8, 4)


async def test_with_no_trees_kept_every_page_reads_its_tree(
    make_client: Callable[..., GraphQLClient],
    clean_db: AsyncEngine,
    count_statements: StatementCounter,
) -> None:
    client = make_client(tree_cache_courses=0, fast_execution=True)

    counts = await _statements_for_tree(
        client, clean_db, count_statements, sections=2, themes=2, tasks=2
    )

    assert counts == (8, 8)


async def test_content_edit_between_two_requests_shows_up(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=2, tasks=2)
    user = uuid.uuid4()
    variables = {"id": to_global_id("Course", tree.course_id)}
    before = (await client.execute(TREE_QUERY, variables, user=user))["data"]["course"]
    assert [len(theme["tasks"]) for theme in before["sections"][0]["themes"]] == [2, 2]

    async with clean_db.begin() as conn:
        await conn.execute(
            text("UPDATE theme SET title = 'Renamed' WHERE id = :id"), {"id": tree.theme_ids[0]}
        )
        await conn.execute(
            text("UPDATE task SET active = false WHERE id = :id"), {"id": tree.task_ids[3]}
        )
    after = (await client.execute(TREE_QUERY, variables, user=user))["data"]["course"]

    themes = after["sections"][0]["themes"]
    assert [theme["title"] for theme in themes] == ["Renamed", "Theme 2"]
    assert [len(theme["tasks"]) for theme in themes] == [2, 1]
    assert themes[1]["progress"] == {"solvedTasks": 0, "totalTasks": 1}


async def test_pages_requested_together_after_an_edit_read_the_tree_once(
    client: GraphQLClient, clean_db: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=2, tasks=2)
    variables = {"id": to_global_id("Course", tree.course_id)}
    await client.execute(TREE_QUERY, variables, user=uuid.uuid4())  # the tree is kept
    async with clean_db.begin() as conn:
        await conn.execute(
            text("UPDATE theme SET title = 'Renamed' WHERE id = :id"), {"id": tree.theme_ids[0]}
        )
    reads = 0
    read = content_queries.course_tree_snapshots
    waiting: list[object] = []
    all_waiting = asyncio.Event()
    outcome = tree_cache._outcome

    async def counted_outcome(pending: Any) -> Any:
        waiting.append(pending)
        if len(waiting) == 4:
            all_waiting.set()
        return await outcome(pending)

    async def slow_read(conn: AsyncConnection, course_ids: Sequence[uuid.UUID]) -> Any:
        nonlocal reads
        reads += 1
        # Held until the other four requests wait for this read, however slow the machine
        # (a fixed sleep here once let a loaded run read the tree twice).
        if reads == 1:
            await asyncio.wait_for(all_waiting.wait(), HANG_DEADLINE_SECONDS)
        return await read(conn, course_ids)

    monkeypatch.setattr(tree_cache, "_outcome", counted_outcome)
    monkeypatch.setattr(vars(loaders.Loaders)["course_tree_snapshot"], "query", slow_read)

    pages = await asyncio.gather(
        *(client.execute(TREE_QUERY, variables, user=uuid.uuid4()) for _ in range(5))
    )

    assert reads == 1
    for page in pages:
        assert "errors" not in page, page
        themes = page["data"]["course"]["sections"][0]["themes"]
        assert [theme["title"] for theme in themes] == ["Renamed", "Theme 2"]


async def test_tree_snapshot_never_labels_newer_rows_with_an_older_version(
    clean_db: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=2)
    read_trees = content_queries.course_trees

    async def edit_then_read(conn: AsyncConnection, ids: Sequence[uuid.UUID]) -> Any:
        # A content edit commits after the snapshot read its version, before the rows.
        async with clean_db.begin() as other:
            await other.execute(
                text("UPDATE task SET title = 'Edited' WHERE id = :id"), {"id": tree.task_ids[0]}
            )
        return await read_trees(conn, ids)

    monkeypatch.setattr(content_queries, "course_trees", edit_then_read)
    async with clean_db.connect() as conn:
        [(version, (_, _, tasks))] = await content_queries.course_tree_snapshots(
            conn, [tree.course_id]
        )
    async with clean_db.connect() as conn:
        now = (await conn.execute(text("SELECT version FROM content_version"))).scalar()

    assert [task.title for task in tasks] == ["Task 1", "Task 2"]
    assert version != now


async def test_progress_shows_solved_tasks_and_zero_where_untouched(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=2, themes=1, tasks=4)
        user = uuid.uuid4()
        # Solve 3 of the 4 tasks of the first section.
        await solve_tasks(conn, user_id=user, tree=tree, task_ids=tree.task_ids[:3])

    body = await client.execute(
        TREE_QUERY, {"id": to_global_id("Course", tree.course_id)}, user=user
    )

    course = body["data"]["course"]
    assert course["progress"] == {"solvedTasks": 3, "totalTasks": 8, "percentComplete": 37.5}
    first, second = course["sections"]
    assert first["progress"]["solvedTasks"] == 3
    assert first["progress"]["percentComplete"] == 75.0
    assert second["progress"] == {
        "solvedTasks": 0,
        "totalTasks": 4,
        "percentComplete": 0.0,
        "averageTimeMs": 0,
    }
    assert first["themes"][0]["progress"] == {"solvedTasks": 3, "totalTasks": 4}
    statuses = [t["state"]["status"] for t in first["themes"][0]["tasks"]]
    assert statuses == ["SOLVED", "SOLVED", "SOLVED", "NEW"]


async def test_another_learner_sees_only_their_own_progress(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=2)
        await solve_tasks(conn, user_id=uuid.uuid4(), tree=tree, task_ids=tree.task_ids)

    body = await client.execute(
        TREE_QUERY, {"id": to_global_id("Course", tree.course_id)}, user=uuid.uuid4()
    )

    assert body["data"]["course"]["progress"]["solvedTasks"] == 0


async def test_content_is_readable_without_token_but_progress_is_unauthenticated(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=1)

    body = await client.execute(
        "query($id: ID!) { course(id: $id) { title progress { solvedTasks } } }",
        {"id": to_global_id("Course", tree.course_id)},
    )

    assert body["data"]["course"]["title"]
    assert body["data"]["course"]["progress"] is None
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_courses_connection_pages_in_display_order(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    async with clean_db.begin() as conn:
        for i in range(5):
            tree = await make_course(conn, sections=1, themes=1, tasks=1, key=f"c{i}")
            await conn.execute(
                text("UPDATE course SET order_index = :i WHERE id = :id"),
                {"i": i, "id": tree.course_id},
            )
    query = """query($after: String) { courses(first: 2, after: $after) {
        edges { cursor node { key } } pageInfo { hasNextPage endCursor } } }"""

    keys: list[str] = []
    after = None
    pages = 0
    while True:
        page = (await client.execute(query, {"after": after}))["data"]["courses"]
        keys += [edge["node"]["key"] for edge in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert pages == 3
    assert sorted(keys) == keys == [f"c{i}" for i in range(5)]


async def test_node_fetches_each_kind_by_global_id(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=1)
    query = "query($id: ID!) { node(id: $id) { __typename id } }"

    for type_name, id_ in (
        ("Course", tree.course_id),
        ("Section", tree.section_ids[0]),
        ("Theme", tree.theme_ids[0]),
        ("Task", tree.task_ids[0]),
    ):
        global_id = to_global_id(type_name, id_)
        body = await client.execute(query, {"id": global_id})
        assert body["data"]["node"] == {"__typename": type_name, "id": global_id}

    missing = await client.execute(query, {"id": to_global_id("Course", uuid.uuid4())})
    assert missing["data"]["node"] is None


async def test_malformed_ids_are_bad_user_input(client: GraphQLClient) -> None:
    for bad in ("not-base64!!", to_global_id("Task", uuid.uuid4())):
        body = await client.execute("query($id: ID!) { course(id: $id) { id } }", {"id": bad})
        assert body["data"]["course"] is None
        assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_task_content_comes_back_as_authored(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=2)
        await conn.execute(
            text("UPDATE task SET content = CAST(:c AS jsonb) WHERE id = :id"),
            {
                "c": '{"question": "2+2?", "options": [3, 4], "nested": {"ok": true}}',
                "id": tree.task_ids[0],
            },
        )

    body = await client.execute(
        "query($id: ID!) { course(id: $id) { sections { themes { tasks { content } } } } }",
        {"id": to_global_id("Course", tree.course_id)},
        token=client.token(uuid.uuid4(), admin=True),
    )

    # an admin gets it as authored (learners get the public view: tests/test_secret_answers.py)
    tasks = body["data"]["course"]["sections"][0]["themes"][0]["tasks"]
    assert tasks[0]["content"] == {"question": "2+2?", "options": [3, 4], "nested": {"ok": True}}
    assert tasks[1]["content"] == {"question": "Q2"}


async def test_courses_listed_in_a_page_show_their_sections_as_edited(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    async with clean_db.begin() as conn:
        first = await make_course(conn, sections=2, themes=1, tasks=1, key="a")
        await make_course(conn, sections=1, themes=1, tasks=1, key="b")
    query = "{ courses(first: 5) { edges { node { key sections { title } } } } }"

    def titles(body: dict[str, Any]) -> dict[str, list[str]]:
        return {
            edge["node"]["key"]: [section["title"] for section in edge["node"]["sections"]]
            for edge in body["data"]["courses"]["edges"]
        }

    assert titles(await client.execute(query)) == {
        "a": ["Section 1", "Section 2"],
        "b": ["Section 1"],
    }
    async with clean_db.begin() as conn:
        await conn.execute(
            text("UPDATE section SET title = 'Edited' WHERE id = :id"),
            {"id": first.section_ids[1]},
        )
    assert titles(await client.execute(query)) == {
        "a": ["Section 1", "Edited"],
        "b": ["Section 1"],
    }


async def test_tree_snapshot_hands_its_connection_back_at_read_committed(
    database_url: str,
) -> None:
    # One pooled connection: the next checkout is the connection the snapshot used.
    engine = db_engine.create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            await content_queries.course_tree_snapshots(conn, [uuid.uuid4()])
        async with engine.connect() as conn:
            level = (await conn.execute(text("SHOW transaction_isolation"))).scalar()
    finally:
        await engine.dispose()

    assert level == "read committed"
