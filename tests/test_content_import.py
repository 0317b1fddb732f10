"""Content import: upsert by key, moves, deactivation, idempotence, refusal of bad input."""

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import content_document, content_import
from domain.content_import import Changes
from domain.demo import DEMO_COURSE_PATH
from domain.errors import ContentImportError

CONTENT_TABLES = ("course", "section", "theme", "task", "badge", "badge_rule")
Data = dict[str, Any]


def demo_data() -> Data:
    data: Data = yaml.safe_load(DEMO_COURSE_PATH.read_text(encoding="utf-8"))
    return data


async def import_data(conn: AsyncConnection, data: Data) -> content_import.ImportResult:
    document = content_document.parse_document(data)
    return await content_import.import_content(conn, document=document)


async def dump(conn: AsyncConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every content table; ctid shows whether a row was rewritten."""
    tables = {}
    for table in CONTENT_TABLES:
        result = await conn.execute(text(f"SELECT ctid::text, * FROM {table} ORDER BY id"))
        tables[table] = [tuple(row) for row in result]
    return tables


async def scalar(conn: AsyncConnection, sql: str, **params: Any) -> Any:
    return (await conn.execute(text(sql), params)).scalar_one()


async def count_rows(conn: AsyncConnection) -> dict[str, int]:
    return {t: await scalar(conn, f"SELECT count(*) FROM {t}") for t in CONTENT_TABLES}


async def section_totals(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(text("SELECT key, total_tasks_cached FROM section"))
    return {key: total for key, total in rows}


def themes_of(data: Data, section: int) -> list[Data]:
    themes: list[Data] = data["courses"][0]["sections"][section]["themes"]
    return themes


def tasks_of(data: Data, section: int, theme: int) -> list[Data]:
    tasks: list[Data] = themes_of(data, section)[theme]["tasks"]
    return tasks


async def test_demo_import_creates_the_whole_course_with_its_total(conn: AsyncConnection) -> None:
    # given an empty database
    # when the demo file is imported
    document = content_document.load_document(DEMO_COURSE_PATH)
    result = await content_import.import_content(conn, document=document)

    # then every entity exists once and the course counts its 30 active tasks
    assert await count_rows(conn) == {
        "course": 1,
        "section": 3,
        "theme": 6,
        "task": 30,
        "badge": 5,
        "badge_rule": 5,
    }
    assert result.courses == Changes(created=1)
    assert result.tasks == Changes(created=30)
    assert result.rules == Changes(created=5)
    assert result.summary() == (
        "created 1 course, 3 sections, 6 themes, 30 tasks, 5 badges, 5 badge rules"
    )
    total = await scalar(
        conn, "SELECT total_tasks_cached FROM course WHERE key = 'python-foundations'"
    )
    assert total == 30
    assert set((await section_totals(conn)).values()) == {10}


async def test_demo_import_keeps_order_and_content(conn: AsyncConnection) -> None:
    # given the demo imported
    await import_data(conn, demo_data())

    # when one task is read back
    row = (
        await conn.execute(
            text(
                "SELECT type, difficulty, active, order_index, content FROM task"
                " WHERE key = 'python-foundations/basics/operators/power-associativity'"
            )
        )
    ).one()

    # then its values are those of the file, its order its position in the theme
    assert row.type == "numeric"
    assert row.difficulty == 2
    assert row.active is True
    assert row.order_index == 1
    assert row.content["answer"] == 512


async def test_reimporting_the_same_document_changes_no_row(conn: AsyncConnection) -> None:
    # given the demo imported once
    await import_data(conn, demo_data())
    before = await dump(conn)

    # when the identical document is imported again
    result = await import_data(conn, demo_data())

    # then no row was rewritten (same ids, values and physical row versions)
    assert await dump(conn) == before
    assert not result.changed
    assert result.summary() == "no changes"


async def test_edited_document_updates_adds_deactivates_and_moves(conn: AsyncConnection) -> None:
    # given the demo imported, and ids by key
    original = demo_data()
    await import_data(conn, original)
    ids_before = {row.key: row.id for row in await conn.execute(text("SELECT key, id FROM task"))}
    theme_ids = {row.key: row.id for row in await conn.execute(text("SELECT key, id FROM theme"))}
    section_ids = {r.key: r.id for r in await conn.execute(text("SELECT key, id FROM section"))}

    # when an edited document is imported: a retitled task, a new task, a task left out,
    # a task moved to a theme of another section, a theme moved to another section
    edited = copy.deepcopy(original)
    retitled = tasks_of(edited, 0, 0)[0]
    retitled["title"] = "Which names may you use?"
    tasks_of(edited, 0, 0).append(
        {
            "key": "python-foundations/basics/variables-and-types/none",
            "title": "None",
            "type": "text",
            "content": {
                "question": "What does a function without return give?",
                "answers": ["None"],
            },
        }
    )
    removed = tasks_of(edited, 0, 1).pop()
    moved_task = tasks_of(edited, 1, 0).pop()
    tasks_of(edited, 2, 0).append(moved_task)
    moved_theme = themes_of(edited, 2).pop()
    themes_of(edited, 0).append(moved_theme)
    result = await import_data(conn, edited)

    # then rows were changed in place: nothing duplicated, the left-out task kept inactive
    assert result.tasks == Changes(created=1, updated=2, deactivated=1)
    assert result.themes == Changes(updated=1)
    assert result.sections == Changes() and result.courses == Changes()
    assert await count_rows(conn) == {
        "course": 1,
        "section": 3,
        "theme": 6,
        "task": 31,
        "badge": 5,
        "badge_rule": 5,
    }
    task = {
        row.key: row
        for row in await conn.execute(text("SELECT key, id, title, theme_id, active FROM task"))
    }
    assert task[retitled["key"]].title == "Which names may you use?"
    assert task[retitled["key"]].id == ids_before[retitled["key"]]
    assert task[removed["key"]].active is False
    assert task[removed["key"]].id == ids_before[removed["key"]]
    assert task[moved_task["key"]].id == ids_before[moved_task["key"]]
    assert task[moved_task["key"]].theme_id == theme_ids[themes_of(edited, 2)[0]["key"]]
    theme_section = await scalar(
        conn, "SELECT section_id FROM theme WHERE key = :key", key=moved_theme["key"]
    )
    assert theme_section == section_ids[edited["courses"][0]["sections"][0]["key"]]

    # and the totals count the active tasks where they now are
    sections = edited["courses"][0]["sections"]
    assert await section_totals(conn) == {
        sections[0]["key"]: 6 + 4 + 5,
        sections[1]["key"]: 4 + 5,
        sections[2]["key"]: 6,
    }
    assert await scalar(conn, "SELECT total_tasks_cached FROM course") == 30


async def test_reimporting_an_edited_document_changes_no_row(conn: AsyncConnection) -> None:
    # given an edited demo imported over the original
    edited = demo_data()
    tasks_of(edited, 0, 0).pop()
    themes_of(edited, 0).append(themes_of(edited, 1).pop())
    await import_data(conn, demo_data())
    await import_data(conn, edited)
    before = await dump(conn)

    # when the same edited document is imported again
    result = await import_data(conn, edited)

    # then nothing changes: the deactivated task is not counted again
    assert not result.changed
    assert await dump(conn) == before


async def test_task_back_in_the_file_is_reactivated(conn: AsyncConnection) -> None:
    # given a task left out of a second import, hence inactive
    without = demo_data()
    left_out = tasks_of(without, 0, 0).pop()
    await import_data(conn, demo_data())
    await import_data(conn, without)

    # when the full document is imported again
    result = await import_data(conn, demo_data())

    # then the task is active and counted again
    assert result.tasks == Changes(updated=1)
    active = await scalar(conn, "SELECT active FROM task WHERE key = :key", key=left_out["key"])
    assert active is True
    assert await scalar(conn, "SELECT total_tasks_cached FROM course") == 30


async def test_tasks_of_courses_absent_from_the_file_stay_active(conn: AsyncConnection) -> None:
    # given the demo course imported
    await import_data(conn, demo_data())

    # when a file holding only another course is imported
    other = {
        "courses": [
            {
                "key": "sql-basics",
                "title": "SQL Basics",
                "sections": [
                    {
                        "key": "sql-basics/select",
                        "title": "SELECT",
                        "themes": [
                            {
                                "key": "sql-basics/select/where",
                                "title": "WHERE",
                                "tasks": [{"key": "sql-basics/1", "title": "One", "type": "code"}],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    result = await import_data(conn, other)

    # then the demo's tasks are untouched
    assert result.tasks == Changes(created=1)
    assert await scalar(conn, "SELECT count(*) FROM task WHERE active") == 31


async def test_rules_absent_from_the_file_are_deactivated(conn: AsyncConnection) -> None:
    # given the demo badges imported
    await import_data(conn, demo_data())

    # when a badge's rule is replaced by another in the file
    data = demo_data()
    data["badges"][2]["rules"] = [
        {"key": "three-day-streak/three", "type": "streak", "criteria": {"days": 3}}
    ]
    result = await import_data(conn, data)

    # then the new rule exists and the old one is inactive, not deleted
    assert result.rules == Changes(created=1, deactivated=1)
    rules = {
        r.key: r.active for r in await conn.execute(text("SELECT key, active FROM badge_rule"))
    }
    assert rules["three-day-streak/3-days"] is False
    assert rules["three-day-streak/three"] is True
    assert len(rules) == 6


async def test_statement_count_does_not_grow_with_the_course(
    conn: AsyncConnection, count_statements: Any
) -> None:
    # given a small course and one of 1,000 tasks
    def course(key: str, tasks: int) -> Data:
        theme = {
            "key": f"{key}/s/t",
            "title": "Theme",
            "tasks": [
                {"key": f"{key}/{n}", "title": f"Task {n}", "type": "text"} for n in range(tasks)
            ],
        }
        section = {"key": f"{key}/s", "title": "Section", "themes": [theme]}
        return {"courses": [{"key": key, "title": key, "sections": [section]}]}

    # when each is imported
    before = count_statements.count
    await import_data(conn, course("small", 2))
    small = count_statements.count - before
    result = await import_data(conn, course("large", 1000))
    large = count_statements.count - before - small

    # then both take the same few statements: courses placed, learners to watch found, one
    # upsert per kind, sections and themes retired, tasks deactivated
    assert result.tasks == Changes(created=1000)
    assert small == large <= 9  # and the answer keys' history
    assert await scalar(conn, "SELECT total_tasks_cached FROM course WHERE key = 'large'") == 1000


def bad_type(data: Data) -> None:
    tasks_of(data, 0, 0)[1]["type"] = "essay"


def missing_title(data: Data) -> None:
    del data["courses"][0]["sections"][1]["title"]


def difficulty_nine(data: Data) -> None:
    tasks_of(data, 0, 0)[2]["difficulty"] = 9


def duplicated_key(data: Data) -> None:
    tasks_of(data, 0, 1)[0]["key"] = tasks_of(data, 0, 0)[0]["key"]


def criteria_not_an_object(data: Data) -> None:
    data["badges"][0]["rules"][0]["criteria"] = ["days", 3]


def unknown_field(data: Data) -> None:
    tasks_of(data, 0, 0)[0]["hint"] = "think"


def bad_key(data: Data) -> None:
    themes_of(data, 1)[0]["key"] = "Control Flow!"


def string_difficulty(data: Data) -> None:
    tasks_of(data, 2, 1)[4]["difficulty"] = "5"


@pytest.mark.parametrize(
    ("breakage", "path"),
    [
        (bad_type, "courses[0].sections[0].themes[0].tasks[1].type"),
        (missing_title, "courses[0].sections[1].title"),
        (difficulty_nine, "courses[0].sections[0].themes[0].tasks[2].difficulty"),
        (duplicated_key, "courses[0].sections[0].themes[1].tasks[0].key"),
        (criteria_not_an_object, "badges[0].rules[0].criteria"),
        (unknown_field, "courses[0].sections[0].themes[0].tasks[0].hint"),
        (bad_key, "courses[0].sections[1].themes[0].key"),
        (string_difficulty, "courses[0].sections[2].themes[1].tasks[4].difficulty"),
    ],
)
async def test_broken_document_is_refused_naming_the_field_and_writes_nothing(
    conn: AsyncConnection, breakage: Callable[[Data], None], path: str
) -> None:
    # given the demo imported
    await import_data(conn, demo_data())
    before = await dump(conn)

    # when a broken edit of it is imported
    broken = demo_data()
    tasks_of(broken, 0, 0)[0]["title"] = "A change that must not be written"
    breakage(broken)
    with pytest.raises(ContentImportError) as raised:
        await import_data(conn, broken)

    # then the error names exactly the bad field, and the database is as it was
    assert [problem.path for problem in raised.value.problems] == [path]
    assert raised.value.code == "INVALID_CONTENT"
    assert path in raised.value.message
    assert await dump(conn) == before


def test_every_problem_is_reported_at_once() -> None:
    # given a document with three independent mistakes
    data = demo_data()
    bad_type(data)
    missing_title(data)
    criteria_not_an_object(data)

    # when it is parsed
    with pytest.raises(ContentImportError) as raised:
        content_document.parse_document(data)

    # then all three are listed
    assert {problem.path for problem in raised.value.problems} == {
        "courses[0].sections[0].themes[0].tasks[1].type",
        "courses[0].sections[1].title",
        "badges[0].rules[0].criteria",
    }


def test_json_and_yaml_files_give_the_same_document(tmp_path: Path) -> None:
    # given the demo saved as JSON
    as_json = tmp_path / "course.json"
    as_json.write_text(json.dumps(demo_data()), encoding="utf-8")

    # when both files are loaded
    # then the documents are equal
    loaded = content_document.load_document(as_json)
    assert loaded == content_document.load_document(DEMO_COURSE_PATH)


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        ("broken.yaml", "courses:\n  - key: a\n   title: [unclosed\n", "line 3"),
        ("broken.json", '{"courses": [\n  {"key": "a",}\n]}', "line 2"),
        ("course.txt", "courses: []\n", "unsupported file extension '.txt'"),
        ("latin1.yaml", "title: caf\xe9\n", "cannot read the file"),
    ],
)
async def test_unreadable_file_is_refused_with_a_clear_message(
    conn: AsyncConnection, tmp_path: Path, name: str, body: str, expected: str
) -> None:
    # given the demo imported, and a file that cannot be read as content
    await import_data(conn, demo_data())
    before = await dump(conn)
    path = tmp_path / name
    path.write_bytes(body.encode("latin-1"))

    # when it is loaded
    with pytest.raises(ContentImportError) as raised:
        content_document.load_document(path)

    # then the message says what is wrong and where, and nothing was written
    assert expected in raised.value.message
    assert str(path) in raised.value.message
    assert await dump(conn) == before


def test_missing_file_is_refused(tmp_path: Path) -> None:
    # given no file
    # when it is loaded
    with pytest.raises(ContentImportError) as raised:
        content_document.load_document(tmp_path / "absent.yaml")

    # then the error says it cannot be read
    assert "cannot read the file" in raised.value.message


def test_empty_file_is_refused(tmp_path: Path) -> None:
    # given an empty YAML file (it parses to null)
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")

    # when it is loaded
    with pytest.raises(ContentImportError) as raised:
        content_document.load_document(path)

    # then the whole document is named as the problem
    assert [problem.path for problem in raised.value.problems] == [""]
