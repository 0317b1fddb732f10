"""Content changes by import: awards they complete, completion policy, retiring, --check.

Every change goes through the real import path (``content_import.import_content`` or the
``learntrack import`` command); learners act and look through the GraphQL test client.
"""

import copy
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import Database
from domain import content_document, content_import, recompute
from gql import cli
from gql.ids import to_global_id
from tests.attempt_helpers import drift, submit
from tests.graphql_client import GraphQLClient

Data = dict[str, Any]


def course(key: str, *, sections: int = 1, themes: int = 1, tasks: int = 2, **extra: Any) -> Data:
    """A course entry whose keys all start with ``key``."""
    return {
        "key": key,
        "title": key.title(),
        **extra,
        "sections": [
            {
                "key": f"{key}/s{s}",
                "title": f"Section {s}",
                "themes": [
                    {
                        "key": f"{key}/s{s}/t{t}",
                        "title": f"Theme {t}",
                        "tasks": [
                            {"key": f"{key}/s{s}/t{t}/k{k}", "title": f"Task {k}", "type": "text"}
                            for k in range(tasks)
                        ],
                    }
                    for t in range(themes)
                ],
            }
            for s in range(sections)
        ],
    }


def completion_badges(course_key: str) -> list[Data]:
    return [
        {
            "key": "section-done",
            "name": "Section done",
            "rules": [{"key": "section-done/any", "type": "section_completed"}],
        },
        {
            "key": "course-done",
            "name": "Course done",
            "rules": [
                {
                    "key": "course-done/c",
                    "type": "course_completed",
                    "criteria": {"courseKey": course_key},
                }
            ],
        },
        {
            "key": "both",
            "name": "Both",
            "rules": [
                {
                    "key": "both/all",
                    "type": "all_of",
                    "criteria": {
                        "rules": [
                            {"type": "course_completed", "criteria": {"courseKey": course_key}},
                            {"type": "solved_total", "criteria": {"tasks": 1}},
                        ]
                    },
                }
            ],
        },
    ]


async def import_data(engine: AsyncEngine, data: Data) -> content_import.ImportResult:
    """Import ``data`` in its own committed transaction, as `learntrack import` does."""
    document = content_document.parse_document(data)
    async with engine.begin() as conn:
        return await content_import.import_content(conn, document=document)


async def ids(engine: AsyncEngine, table: str) -> dict[str, uuid.UUID]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(f"SELECT key, id FROM {table}"))  # noqa: S608
        return {row.key: row.id for row in rows}


async def solve(client: GraphQLClient, user: uuid.UUID, engine: AsyncEngine, key: str) -> None:
    result = await submit(client, user, task_id=(await ids(engine, "task"))[key])
    assert result["__typename"] == "SubmitAttemptSuccess", result


ENROLLMENT = """{ viewer { enrollments { nodes { status completedAt course { key } } } } }"""
AWARDS = """{ viewer { badges { nodes { awardedAt attemptId context badge { key } } } } }"""


async def enrollments(client: GraphQLClient, user: uuid.UUID) -> dict[str, Data]:
    body = await client.execute(ENROLLMENT, user=user)
    return {n["course"]["key"]: n for n in body["data"]["viewer"]["enrollments"]["nodes"]}


async def awards(client: GraphQLClient, user: uuid.UUID) -> dict[str, Data]:
    body = await client.execute(AWARDS, user=user)
    return {n["badge"]["key"]: n for n in body["data"]["viewer"]["badges"]["nodes"]}


async def percent(client: GraphQLClient, user: uuid.UUID, engine: AsyncEngine, key: str) -> Any:
    body = await client.execute(
        "query($id: ID!) { course(id: $id) { progress { solvedTasks totalTasks } } }",
        {"id": to_global_id("Course", (await ids(engine, "course"))[key])},
        user=user,
    )
    progress = body["data"]["course"]["progress"]
    return progress and (progress["solvedTasks"], progress["totalTasks"])


# --- defect 1: a content change that completes a section or course awards it -------------


async def test_an_import_that_completes_a_course_awards_its_badges_dated_at_the_change(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a learner who solved the first of two tasks, under completion rules
    data = {"courses": [course("c")], "badges": completion_badges("c")}
    await import_data(clean_db, data)
    user = uuid.uuid4()
    await solve(client, user, clean_db, "c/s0/t0/k0")
    assert await awards(client, user) == {}

    # When an import removes the task left unsolved
    edited = copy.deepcopy(data)
    edited["courses"][0]["sections"][0]["themes"][0]["tasks"].pop()
    before = datetime.now(UTC)
    await import_data(clean_db, edited)
    after = datetime.now(UTC)

    # Then the section, course and composed badges are awarded, dated at the change
    held = await awards(client, user)
    assert set(held) == {"section-done", "course-done", "both"}
    for award in held.values():
        assert before <= datetime.fromisoformat(award["awardedAt"]) <= after
        assert award["attemptId"] is None
    assert (await enrollments(client, user))["c"]["status"] == "COMPLETED"
    assert await drift(clean_db) == []


async def test_an_import_awards_only_what_the_change_completed(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a learner with one of two sections complete and a section rule added afterwards
    data = {"courses": [course("c", sections=2, tasks=1)]}
    await import_data(clean_db, data)
    user = uuid.uuid4()
    await solve(client, user, clean_db, "c/s0/t0/k0")
    with_rules = {**data, "badges": completion_badges("c")}
    await import_data(clean_db, with_rules)

    # When an import changes something that completes nothing
    retitled = copy.deepcopy(with_rules)
    retitled["courses"][0]["sections"][1]["title"] = "Renamed"
    await import_data(clean_db, retitled)

    # Then nothing is awarded: the earlier completion is a backfill's business
    assert await awards(client, user) == {}


# --- defect 6: completion policy per course ---------------------------------------------


@pytest.mark.parametrize("policy", [None, "live", "sticky"])
async def test_adding_a_task_reopens_a_live_course_and_not_a_sticky_one(
    client: GraphQLClient, clean_db: AsyncEngine, policy: str | None
) -> None:
    # Given a learner who completed a one-task course
    extra = {"completion": policy} if policy else {}
    data = {"courses": [course("c", tasks=1, **extra)]}
    await import_data(clean_db, data)
    user = uuid.uuid4()
    await solve(client, user, clean_db, "c/s0/t0/k0")
    completed = (await enrollments(client, user))["c"]
    assert completed["status"] == "COMPLETED" and completed["completedAt"]

    # When a task is added
    grown = copy.deepcopy(data)
    grown["courses"][0]["sections"][0]["themes"][0]["tasks"].append(
        {"key": "c/new", "title": "New", "type": "text"}
    )
    await import_data(clean_db, grown)

    # Then a live course (the default) is open again, a sticky one stays completed
    enrollment = (await enrollments(client, user))["c"]
    if policy == "sticky":
        assert enrollment == completed
    else:
        assert enrollment["status"] == "ACTIVE" and enrollment["completedAt"] is None
    assert await percent(client, user, clean_db, "c") == (1, 2)
    assert await drift(clean_db) == []

    # And the course says which policy it follows
    body = await client.execute(
        "query($id: ID!) { course(id: $id) { completion } }",
        {"id": to_global_id("Course", (await ids(clean_db, "course"))["c"])},
    )
    assert body["data"]["course"]["completion"] == (policy or "live").upper()

    # And solving the new task completes it again, either way
    await solve(client, user, clean_db, "c/new")
    assert (await enrollments(client, user))["c"]["status"] == "COMPLETED"
    assert await drift(clean_db) == []


async def test_a_sticky_course_turned_live_reopens_what_is_no_longer_complete(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a learner still completed in a sticky course that gained a task
    data = {"courses": [course("c", tasks=1, completion="sticky")]}
    await import_data(clean_db, data)
    user = uuid.uuid4()
    await solve(client, user, clean_db, "c/s0/t0/k0")
    grown = copy.deepcopy(data)
    grown["courses"][0]["sections"][0]["themes"][0]["tasks"].append(
        {"key": "c/new", "title": "New", "type": "text"}
    )
    await import_data(clean_db, grown)
    assert (await enrollments(client, user))["c"]["status"] == "COMPLETED"

    # When the file turns the course live
    grown["courses"][0]["completion"] = "live"
    await import_data(clean_db, grown)

    # Then the enrollment is open again at once
    enrollment = (await enrollments(client, user))["c"]
    assert enrollment["status"] == "ACTIVE" and enrollment["completedAt"] is None
    assert await drift(clean_db) == []


async def test_an_unknown_completion_policy_is_refused_with_its_path() -> None:
    data = {"courses": [course("c", completion="forever")]}
    with pytest.raises(content_document.ContentImportError) as error:
        content_document.parse_document(data)
    assert [p.path for p in error.value.problems] == ["courses[0].completion"]


# --- defect 8: retiring content by import -----------------------------------------------


TREE = """query($id: ID!) { course(id: $id) { sections { key themes { key } } } }"""


async def test_sections_and_themes_left_out_of_a_course_are_retired_not_shown(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a course with two sections of two themes
    data = {"courses": [course("c", sections=2, themes=2, tasks=1)]}
    await import_data(clean_db, data)

    # When the file drops a theme of section 0 and the whole section 1
    edited = copy.deepcopy(data)
    edited["courses"][0]["sections"][0]["themes"].pop()
    edited["courses"][0]["sections"].pop()
    result = await import_data(clean_db, edited)

    # Then the API tree shows neither, and both are kept, inactive, with their tasks
    course_id = (await ids(clean_db, "course"))["c"]
    body = await client.execute(TREE, {"id": to_global_id("Course", course_id)})
    assert body["data"]["course"]["sections"] == [{"key": "c/s0", "themes": [{"key": "c/s0/t0"}]}]
    async with clean_db.connect() as conn:
        themes = dict((await conn.execute(text("SELECT key, active FROM theme"))).all())
        sections = dict((await conn.execute(text("SELECT key, active FROM section"))).all())
    assert themes == {"c/s0/t0": True, "c/s0/t1": False, "c/s1/t0": False, "c/s1/t1": False}
    assert sections == {"c/s0": True, "c/s1": False}
    assert result.themes.deactivated == 3 and result.sections.deactivated == 1

    # And listing them again brings them back
    await import_data(clean_db, data)
    body = await client.execute(TREE, {"id": to_global_id("Course", course_id)})
    assert len(body["data"]["course"]["sections"]) == 2


async def test_a_course_marked_retired_is_hidden_and_its_tasks_take_no_attempts(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given two courses and a learner who solved a task of the first
    await import_data(clean_db, {"courses": [course("a"), course("b")]})
    user = uuid.uuid4()
    await solve(client, user, clean_db, "a/s0/t0/k0")

    # When a file marks course a retired (its tree may be left out)
    await import_data(clean_db, {"courses": [{"key": "a", "title": "A", "retired": True}]})

    # Then the course list shows only b, attempts on a's tasks are refused, history stays
    body = await client.execute("{ courses { nodes { key } } }")
    assert body["data"]["courses"]["nodes"] == [{"key": "b"}]
    refused = await submit(client, user, task_id=(await ids(clean_db, "task"))["a/s0/t0/k1"])
    assert refused["code"] == "TASK_INACTIVE"
    assert "a" in await enrollments(client, user)
    enrolled = await client.execute(
        "mutation($id: ID!) { enroll(courseId: $id) { ... on EnrollmentError { code } } }",
        {"id": to_global_id("Course", (await ids(clean_db, "course"))["a"])},
        user=uuid.uuid4(),
    )
    assert enrolled["data"]["enroll"] == {"code": "COURSE_NOT_FOUND"}
    async with clean_db.connect() as conn:
        attempts = await conn.execute(text("SELECT count(*) FROM user_task_attempt"))
        assert attempts.scalar_one() == 1
    assert await drift(clean_db) == []


async def test_a_course_absent_from_another_file_stays_as_it_is(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given course a from one file and course b from another
    await import_data(clean_db, {"courses": [course("a")]})
    await import_data(clean_db, {"courses": [course("b")]})

    # Then both are listed, a first: a course without `order` goes after those stored
    body = await client.execute("{ courses { nodes { key totalTasks } } }")
    assert body["data"]["courses"]["nodes"] == [
        {"key": "a", "totalTasks": 2},
        {"key": "b", "totalTasks": 2},
    ]
    async with clean_db.connect() as conn:
        orders = dict((await conn.execute(text("SELECT key, order_index FROM course"))).all())
    assert orders["b"] > orders["a"]

    # And an explicit order wins, and re-importing without one keeps the stored order
    await import_data(clean_db, {"courses": [course("b", order=0)]})
    await import_data(clean_db, {"courses": [course("a", order=5)]})
    await import_data(clean_db, {"courses": [course("a")]})
    body = await client.execute("{ courses { nodes { key } } }")
    assert body["data"]["courses"]["nodes"] == [{"key": "b"}, {"key": "a"}]


async def test_moving_a_task_to_another_course_creates_no_progress_there(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given a learner enrolled only in course a, who solved one of its two tasks
    data = {"courses": [course("a"), course("b")]}
    await import_data(clean_db, data)
    user = uuid.uuid4()
    await solve(client, user, clean_db, "a/s0/t0/k0")

    # When the import moves the solved task into course b
    moved = copy.deepcopy(data)
    task = moved["courses"][0]["sections"][0]["themes"][0]["tasks"].pop(0)
    moved["courses"][1]["sections"][0]["themes"][0]["tasks"].append(task)
    await import_data(clean_db, moved)

    # Then a counts 0 of 1, and b neither enrolls the learner nor counts the solve
    assert await percent(client, user, clean_db, "a") == (0, 1)
    assert await percent(client, user, clean_db, "b") == (0, 3)
    assert set(await enrollments(client, user)) == {"a"}
    async with clean_db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT count(*) FROM user_course_progress p JOIN course c ON c.id = p.course_id"
                " WHERE c.key = 'b'"
            )
        )
        assert rows.scalar_one() == 0
    assert await drift(clean_db) == []

    # And once the learner works in b, the moved solve counts there
    await solve(client, user, clean_db, "b/s0/t0/k0")
    assert await percent(client, user, clean_db, "b") == (2, 3)
    assert await drift(clean_db) == []


# --- import --check and problems with their paths ---------------------------------------


def write(tmp_path: Path, data: Data) -> Path:
    path = tmp_path / "content.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


DANGLING = {
    "courses": [course("c")],
    "badges": [
        {
            "key": "x",
            "name": "X",
            "rules": [
                {"key": "x/ok", "type": "section_completed", "criteria": {"sectionKey": "c/s0"}},
                {"key": "x/bad", "type": "section_completed", "criteria": {"sectionKey": "nope"}},
            ],
        }
    ],
}


@pytest.mark.parametrize("check", [False, True])
def test_import_prints_a_dangling_rule_reference_with_its_path(
    tmp_path: Path,
    database_url: str,
    clean_db: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    check: bool,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    path = write(tmp_path, DANGLING)

    status = cli.main(["import", *(["--check"] if check else []), str(path)])

    assert status == 1
    err = capsys.readouterr().err
    assert "badges[0].rules[1].criteria.sectionKey: there is no section 'nope'" in err
    assert status_of_tables(database_url) == 0


def status_of_tables(database_url: str) -> int:
    import asyncio

    from db import engine as db_engine

    async def count() -> int:
        engine = db_engine.create_engine(database_url, pool_size=1)
        try:
            async with engine.connect() as conn:
                return int((await conn.execute(text("SELECT count(*) FROM course"))).scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(count())


def test_import_check_validates_a_good_file_and_writes_nothing(
    tmp_path: Path,
    database_url: str,
    clean_db: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    good = copy.deepcopy(DANGLING)
    good["badges"][0]["rules"].pop()
    path = write(tmp_path, good)

    status = cli.main(["import", "--check", str(path)])

    assert status == 0
    assert "created 1 course" in capsys.readouterr().out
    assert status_of_tables(database_url) == 0


def test_import_check_prints_every_file_problem_with_its_path(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    bad = {"courses": [course(f"c{i}", completion="never") for i in range(7)]}
    path = write(tmp_path, bad)

    assert cli.main(["import", "--check", str(path)]) == 1

    err = capsys.readouterr().err
    for i in range(7):
        assert f"courses[{i}].completion: " in err


# --- recompute --check covers enrollments ------------------------------------------------


async def test_recompute_check_reports_an_enrollment_that_disagrees_with_the_content(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given two learners who each completed a one-task live course
    await import_data(clean_db, {"courses": [course("c", tasks=1), course("s", tasks=1)]})
    done, fresh = uuid.uuid4(), uuid.uuid4()
    await solve(client, done, clean_db, "c/s0/t0/k0")
    await solve(client, fresh, clean_db, "s/s0/t0/k0")
    assert await drift(clean_db) == []

    # When the stored enrollments are made wrong behind the server's back
    async with clean_db.begin() as conn:
        await conn.execute(
            text(
                "UPDATE user_course_enrollment SET status = 'active', completed_at = NULL"
                " WHERE user_id = :u"
            ),
            {"u": done},
        )
        await conn.execute(
            text("UPDATE user_course_enrollment SET completed_at = NULL WHERE user_id = :u"),
            {"u": fresh},
        )

    # Then the check names both
    found = await drift(clean_db)
    assert len(found) == 2, found
    assert all(line.startswith("user_course_enrollment: ") for line in found)

    # And a rebuild sets them right: completed again, with a completion time
    async with Database(clean_db).transaction() as conn:
        await recompute.rebuild_users(conn, user_ids=[done, fresh])
    assert await drift(clean_db) == []
    for user in (done, fresh):
        enrollment = await enrollments(client, user)
        assert [e["status"] for e in enrollment.values()] == ["COMPLETED"]
        assert all(e["completedAt"] for e in enrollment.values())
