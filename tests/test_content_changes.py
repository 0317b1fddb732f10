"""Content changes made by an admin or an import keep every learner's progress right.

Each change is plain SQL in its own committed transaction; the triggers recount the
affected sections' and courses' per-user rows. After each change the stored rows, the
course tree in the API and a full recompute all agree.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gql.ids import to_global_id
from tests.attempt_helpers import drift, submit
from tests.factories import CourseTree, make_course
from tests.graphql_client import GraphQLClient

RECORDS = """query($from: Date!, $to: Date!) { viewer {
  attempts(first: 10) { nodes { id: clientId task { key } } }
  activity(from: $from, to: $to) { day attempts solved }
  streak { current longest }
} }"""

TREE = """query($id: ID!) { course(id: $id) {
  progress { solvedTasks totalTasks percentComplete }
  sections { progress { solvedTasks totalTasks percentComplete } }
} }"""

Counts = tuple[int, int, float]  # solved, total, percent


@dataclass
class World:
    """Course A (2 sections x 1 theme x 2 tasks), course B (1 x 1 x 2), one learner."""

    client: GraphQLClient
    engine: AsyncEngine
    user: uuid.UUID
    a: CourseTree
    b: CourseTree

    async def solve(self, task_id: uuid.UUID, *, solved: bool = True) -> dict[str, Any]:
        result = await submit(self.client, self.user, task_id=task_id, solved=solved)
        assert result["__typename"] == "SubmitAttemptSuccess", result
        return result

    async def change(self, sql: str, **params: Any) -> None:
        """Run ``sql`` in its own committed transaction, as an admin or an import would."""
        async with self.engine.begin() as conn:
            await conn.execute(text(sql), params)

    async def stored(self) -> tuple[dict[uuid.UUID, Counts], dict[uuid.UUID, Counts]]:
        """The learner's section and course progress rows: id -> (solved, total, percent)."""
        async with self.engine.connect() as conn:
            sections = await conn.execute(
                text(
                    "SELECT section_id, solved_tasks, total_tasks, percent_complete"
                    " FROM user_section_progress WHERE user_id = :u"
                ),
                {"u": self.user},
            )
            courses = await conn.execute(
                text(
                    "SELECT course_id, solved_tasks, total_tasks, percent_complete"
                    " FROM user_course_progress WHERE user_id = :u"
                ),
                {"u": self.user},
            )
            return (
                {r[0]: (r[1], r[2], float(r[3])) for r in sections},
                {r[0]: (r[1], r[2], float(r[3])) for r in courses},
            )

    async def tree(self, course: CourseTree) -> tuple[Counts, list[Counts]]:
        """What the API shows: the course's progress and each section's, in order."""
        body = await self.client.execute(
            TREE, {"id": to_global_id("Course", course.course_id)}, user=self.user
        )
        assert "errors" not in body, body
        node = body["data"]["course"]
        return _counts(node["progress"]), [_counts(s["progress"]) for s in node["sections"]]

    async def records(self) -> dict[str, Any]:
        """The learner's attempts, activity of the last two days, and streak."""
        today = datetime.now(UTC).date()
        window = {"from": str(today - timedelta(days=2)), "to": str(today + timedelta(days=1))}
        body = await self.client.execute(RECORDS, window, user=self.user)
        assert "errors" not in body, body
        viewer: dict[str, Any] = body["data"]["viewer"]
        return viewer

    async def assert_consistent(self) -> None:
        """Percent never above 100 anywhere, and the stored rows equal a recompute."""
        sections, courses = await self.stored()
        for solved, total, percent in [*sections.values(), *courses.values()]:
            assert 0 <= solved <= total or total == 0 == solved
            assert 0 <= percent <= 100
        assert await drift(self.engine) == []


def _counts(progress: dict[str, Any]) -> Counts:
    return progress["solvedTasks"], progress["totalTasks"], progress["percentComplete"]


async def world(client: GraphQLClient, engine: AsyncEngine) -> World:
    async with engine.begin() as conn:
        a = await make_course(conn, sections=2, themes=1, tasks=2)
        b = await make_course(conn, sections=1, themes=1, tasks=2)
    return World(client, engine, uuid.uuid4(), a, b)


async def solved_first_task(client: GraphQLClient, engine: AsyncEngine) -> World:
    """The learner solved A's first task (section 1: 1/2, course A: 1/4)."""
    w = await world(client, engine)
    result = await w.solve(w.a.task_ids[0])
    assert _counts(result["sectionProgress"]) == (1, 2, 50.0)
    assert _counts(result["courseProgress"]) == (1, 4, 25.0)
    return w


async def test_deactivating_a_solved_task_removes_it_from_solved_and_total(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a learner who solved one of the two tasks in section 1
    w = await solved_first_task(client, clean_db)

    # When the task is deactivated
    await w.change("UPDATE task SET active = false WHERE id = :t", t=w.a.task_ids[0])

    # Then it counts neither as solved nor in the totals
    sections, courses = await w.stored()
    assert sections[w.a.section_ids[0]] == (0, 1, 0.0)
    assert courses[w.a.course_id] == (0, 3, 0.0)
    assert await w.tree(w.a) == ((0, 3, 0.0), [(0, 1, 0.0), (0, 2, 0.0)])
    await w.assert_consistent()


async def test_reactivating_a_solved_task_counts_it_as_solved_again(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a solved task that was deactivated
    w = await solved_first_task(client, clean_db)
    await w.change("UPDATE task SET active = false WHERE id = :t", t=w.a.task_ids[0])

    # When it is activated again
    await w.change("UPDATE task SET active = true WHERE id = :t", t=w.a.task_ids[0])

    # Then the progress is what it was before
    assert await w.tree(w.a) == ((1, 4, 25.0), [(1, 2, 50.0), (0, 2, 0.0)])
    await w.assert_consistent()


async def test_deactivating_the_unsolved_task_completes_the_section_at_100_not_more(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a learner who solved one of the two tasks in section 1
    w = await solved_first_task(client, clean_db)

    # When the other task of section 1 is deactivated
    await w.change("UPDATE task SET active = false WHERE id = :t", t=w.a.task_ids[1])

    # Then the section is complete, and the course counts 1 of 3
    assert await w.tree(w.a) == ((1, 3, 33.33), [(1, 1, 100.0), (0, 2, 0.0)])
    await w.assert_consistent()


async def test_deleting_a_solved_task_drops_it_from_progress(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a learner who solved a task in section 1 and failed one in section 2
    w = await solved_first_task(client, clean_db)
    await w.solve(w.a.task_ids[2], solved=False)

    # When the solved task is deleted
    await w.change("DELETE FROM task WHERE id = :t", t=w.a.task_ids[0])

    # Then nothing of it is counted
    sections, courses = await w.stored()
    assert w.a.section_ids[0] not in sections  # no state left on any task there
    assert courses[w.a.course_id] == (0, 3, 0.0)
    assert await w.tree(w.a) == ((0, 3, 0.0), [(0, 1, 0.0), (0, 2, 0.0)])
    await w.assert_consistent()


async def test_deleting_a_task_keeps_the_attempts_activity_and_streak(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a learner whose only solve today is on a task
    w = await world(client, clean_db)
    attempt_id = uuid.uuid4()
    occurred_at = datetime.now(UTC) - timedelta(minutes=5)
    first = await submit(
        client, w.user, task_id=w.a.task_ids[0], attempt_id=attempt_id, occurred_at=occurred_at
    )
    before = await w.records()

    # When the task is deleted
    await w.change("DELETE FROM task WHERE id = :t", t=w.a.task_ids[0])

    # Then the attempt is still listed (its task gone), the day and streak still count it
    after = await w.records()
    assert after["attempts"]["nodes"] == [{"id": str(attempt_id), "task": None}]
    assert after["activity"] == before["activity"] != []
    assert after["streak"] == before["streak"] == {"current": 1, "longest": 1}
    # And the attempt id is still taken: a retry is a replay, not a new attempt
    replay = await submit(
        client, w.user, task_id=w.a.task_ids[0], attempt_id=attempt_id, occurred_at=occurred_at
    )
    assert replay["replayed"] is True
    assert replay["attempt"] == first["attempt"]
    await w.assert_consistent()


@pytest.mark.parametrize(("table", "index"), [("theme", "theme_ids"), ("section", "section_ids")])
async def test_deleting_the_theme_or_section_of_a_solve_recounts_the_course(
    client: GraphQLClient, clean_db: AsyncEngine, table: str, index: str
) -> None:
    # Given a learner who solved a task in section 1 and another in section 2
    w = await solved_first_task(client, clean_db)
    await w.solve(w.a.task_ids[2])

    # When section 1 (or its only theme) is deleted, with its tasks
    await w.change(f"DELETE FROM {table} WHERE id = :id", id=getattr(w.a, index)[0])

    # Then the course counts only section 2's tasks
    _, courses = await w.stored()
    assert courses == {w.a.course_id: (1, 2, 50.0)}
    assert (await w.tree(w.a))[0] == (1, 2, 50.0)
    await w.assert_consistent()


async def test_moving_a_solved_task_to_another_section_of_the_course_moves_its_solve(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a learner who solved a task in section 1
    w = await solved_first_task(client, clean_db)

    # When the task moves to section 2's theme
    await w.change(
        "UPDATE task SET theme_id = :th WHERE id = :t", th=w.a.theme_ids[1], t=w.a.task_ids[0]
    )

    # Then section 2 counts it, section 1 no longer does, the course is unchanged
    sections, courses = await w.stored()
    assert sections == {w.a.section_ids[1]: (1, 3, 33.33)}
    assert courses[w.a.course_id] == (1, 4, 25.0)
    assert await w.tree(w.a) == ((1, 4, 25.0), [(0, 1, 0.0), (1, 3, 33.33)])
    await w.assert_consistent()


async def test_moving_a_solved_task_to_another_course_moves_its_solve(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a learner who solved a task in course A and failed one in course A's section 2
    w = await solved_first_task(client, clean_db)
    await w.solve(w.a.task_ids[2], solved=False)

    # When the solved task moves into course B
    await w.change(
        "UPDATE task SET theme_id = :th WHERE id = :t", th=w.b.theme_ids[0], t=w.a.task_ids[0]
    )

    # Then course A counts 0 of 3, and course B, where the learner is not enrolled, has no
    # progress of the learner's (it counts the solve once the learner enrolls there)
    sections, courses = await w.stored()
    assert courses == {w.a.course_id: (0, 3, 0.0)}
    assert sections == {w.a.section_ids[1]: (0, 2, 0.0)}
    assert await w.tree(w.a) == ((0, 3, 0.0), [(0, 1, 0.0), (0, 2, 0.0)])
    assert await w.tree(w.b) == ((0, 3, 0.0), [(0, 3, 0.0)])
    await w.assert_consistent()


async def test_attempts_after_a_move_count_where_the_task_is_now(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a solved task moved from section 1 to section 2
    w = await solved_first_task(client, clean_db)
    await w.change(
        "UPDATE task SET theme_id = :th WHERE id = :t", th=w.a.theme_ids[1], t=w.a.task_ids[0]
    )

    # When the learner solves it again and solves another task of section 2
    again = await w.solve(w.a.task_ids[0])
    other = await w.solve(w.a.task_ids[2])

    # Then the repeat solve is not counted twice, and section 2 reaches 2 of 3
    assert _counts(again["sectionProgress"]) == (1, 3, 33.33)
    assert _counts(other["sectionProgress"]) == (2, 3, 66.67)
    assert _counts(other["courseProgress"]) == (2, 4, 50.0)
    await w.assert_consistent()


async def test_adding_a_task_lowers_the_percent(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a learner who solved one of the two tasks in section 1
    w = await solved_first_task(client, clean_db)

    # When a new task is added to section 1
    await w.change(
        "INSERT INTO task (key, title, type, theme_id, order_index, content)"
        " VALUES (:key, 'New', 'text', :th, 9, '{}')",
        key=f"new-{uuid.uuid4().hex[:8]}",
        th=w.a.theme_ids[0],
    )

    # Then the percent drops in the section and the course
    assert await w.tree(w.a) == ((1, 5, 20.0), [(1, 3, 33.33), (0, 2, 0.0)])
    await w.assert_consistent()


async def test_moving_a_theme_to_another_section_moves_its_solves(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a learner who solved a task in section 1's only theme
    w = await solved_first_task(client, clean_db)

    # When that theme moves to section 2
    await w.change(
        "UPDATE theme SET section_id = :s WHERE id = :th",
        s=w.a.section_ids[1],
        th=w.a.theme_ids[0],
    )

    # Then section 1 is empty and section 2 counts 1 of 4
    sections, _ = await w.stored()
    assert sections == {w.a.section_ids[1]: (1, 4, 25.0)}
    assert await w.tree(w.a) == ((1, 4, 25.0), [(0, 0, 0.0), (1, 4, 25.0)])
    await w.assert_consistent()


async def test_moving_a_theme_to_another_course_moves_its_solves(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a learner who solved a task in course A, section 1
    w = await solved_first_task(client, clean_db)

    # When section 1's theme moves to course B
    await w.change(
        "UPDATE theme SET section_id = :s WHERE id = :th",
        s=w.b.section_ids[0],
        th=w.a.theme_ids[0],
    )

    # Then course A has 2 tasks, none solved; course B, where the learner is not enrolled,
    # has no progress of the learner's
    _, courses = await w.stored()
    assert courses == {}
    assert await w.tree(w.a) == ((0, 2, 0.0), [(0, 0, 0.0), (0, 2, 0.0)])
    assert await w.tree(w.b) == ((0, 4, 0.0), [(0, 4, 0.0)])
    await w.assert_consistent()

    # And once the learner works in course B, it counts the moved solve too
    await w.solve(w.b.task_ids[0])
    assert await w.tree(w.b) == ((2, 4, 50.0), [(2, 4, 50.0)])
    await w.assert_consistent()


async def test_moving_a_section_to_another_course_moves_its_solves(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a learner who solved a task in course A, section 1
    w = await solved_first_task(client, clean_db)

    # When section 1 moves to course B
    await w.change(
        "UPDATE section SET course_id = :c, order_index = 9 WHERE id = :s",
        c=w.b.course_id,
        s=w.a.section_ids[0],
    )

    # Then course A no longer counts it, and course B (the learner is not enrolled there)
    # has no progress of the learner's until the learner enrolls
    sections, courses = await w.stored()
    assert courses == {} and sections == {}
    assert await w.tree(w.a) == ((0, 2, 0.0), [(0, 2, 0.0)])
    assert await w.tree(w.b) == ((0, 4, 0.0), [(0, 2, 0.0), (0, 2, 0.0)])
    await w.assert_consistent()
    enrolled = await w.client.execute(
        "mutation($id: ID!) { enroll(courseId: $id) { __typename } }",
        {"id": to_global_id("Course", w.b.course_id)},
        user=w.user,
    )
    assert enrolled["data"]["enroll"]["__typename"] == "EnrollmentSuccess", enrolled
    assert await w.tree(w.b) == ((1, 4, 25.0), [(0, 2, 0.0), (1, 2, 50.0)])
    await w.assert_consistent()


async def test_a_bulk_move_between_sections_recounts_every_section_in_one_statement(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a learner who solved a task in each section of course A
    w = await solved_first_task(client, clean_db)
    await w.solve(w.a.task_ids[2])

    # When one statement swaps the two sections' themes for all four tasks
    await w.change(
        "UPDATE task SET theme_id = CASE WHEN theme_id = :one THEN :two ELSE :one END"
        " WHERE theme_id IN (:one, :two)",
        one=w.a.theme_ids[0],
        two=w.a.theme_ids[1],
    )

    # Then each section still counts one solve of two
    assert await w.tree(w.a) == ((2, 4, 50.0), [(1, 2, 50.0), (1, 2, 50.0)])
    await w.assert_consistent()


async def test_percent_never_exceeds_100_when_solved_tasks_pile_into_a_section(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a learner who solved both tasks of section 1 and one of section 2
    w = await solved_first_task(client, clean_db)
    await w.solve(w.a.task_ids[1])
    await w.solve(w.a.task_ids[2])

    # When section 2's solved task moves into section 1, then one task there is deactivated
    await w.change(
        "UPDATE task SET theme_id = :th WHERE id = :t", th=w.a.theme_ids[0], t=w.a.task_ids[2]
    )
    moved = await w.tree(w.a)
    await w.assert_consistent()
    await w.change("UPDATE task SET active = false WHERE id = :t", t=w.a.task_ids[1])
    deactivated = await w.tree(w.a)

    # Then section 1 stays at exactly 100 percent
    assert moved == ((3, 4, 75.0), [(3, 3, 100.0), (0, 1, 0.0)])
    assert deactivated == ((2, 3, 66.67), [(2, 2, 100.0), (0, 1, 0.0)])
    await w.assert_consistent()


async def test_deactivating_every_task_leaves_zero_of_zero(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a learner who solved two tasks of course A
    w = await solved_first_task(client, clean_db)
    await w.solve(w.a.task_ids[3])

    # When the whole course is deactivated in one statement
    await w.change(
        "UPDATE task SET active = false WHERE theme_id = ANY(:themes)", themes=w.a.theme_ids
    )

    # Then the course shows 0 of 0 at 0 percent
    assert await w.tree(w.a) == ((0, 0, 0.0), [(0, 0, 0.0), (0, 0, 0.0)])
    await w.assert_consistent()


async def test_a_content_change_recounts_every_learner(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given two learners who solved different tasks of section 1
    w = await solved_first_task(client, clean_db)
    other = World(client, clean_db, uuid.uuid4(), w.a, w.b)
    await other.solve(w.a.task_ids[1])

    # When the first learner's task is deactivated
    await w.change("UPDATE task SET active = false WHERE id = :t", t=w.a.task_ids[0])

    # Then the first has 0 of 1 and the second 1 of 1 in section 1
    assert await w.tree(w.a) == ((0, 3, 0.0), [(0, 1, 0.0), (0, 2, 0.0)])
    assert await other.tree(w.a) == ((1, 3, 33.33), [(1, 1, 100.0), (0, 2, 0.0)])
    await w.assert_consistent()


async def test_deactivating_the_last_unsolved_task_completes_the_enrollment(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=3)
    user = uuid.uuid4()
    for task in tree.task_ids[:2]:
        await submit(client, user, task_id=task)

    async with clean_db.begin() as conn:
        await conn.execute(
            text("UPDATE task SET active = false WHERE id = :id"), {"id": tree.task_ids[2]}
        )
    body = await client.execute(
        "{ viewer { enrollments { nodes { status completedAt } } } }", user=user
    )

    (enrollment,) = body["data"]["viewer"]["enrollments"]["nodes"]
    assert enrollment["status"] == "COMPLETED"
    assert enrollment["completedAt"] is not None
    assert await drift(clean_db) == []
