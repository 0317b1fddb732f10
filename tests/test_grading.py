"""Server grading per task type, and the public view of each type's content (domain.grading)."""

from typing import Any

import pytest

from domain import content_document, grading
from domain.errors import ContentImportError

SINGLE = {"question": "q", "options": ["a", "b", "c"], "answer": 1, "explanation": "e"}
MULTIPLE = {"question": "q", "options": ["a", "b", "c", "d"], "answers": [0, 2]}
TEXT = {"question": "q", "answers": ["int", "Int()"], "caseSensitive": False}
TEXT_CASE = {"question": "q", "answers": ["NaN"], "caseSensitive": True}
NUMERIC = {"question": "q", "answer": 0.3, "tolerance": 0}
NUMERIC_TOLERANT = {"question": "q", "answer": 3.14159, "tolerance": 0.01}
ORDERING = {"question": "q", "items": ["x", "y", "z"], "answer": [2, 0, 1]}


@pytest.mark.parametrize(
    ("task_type", "key", "answer", "solved"),
    [
        ("single_choice", SINGLE, 1, True),
        ("single_choice", SINGLE, 0, False),
        ("multiple_choice", MULTIPLE, [2, 0], True),  # a set: order does not matter
        ("multiple_choice", MULTIPLE, [0], False),  # a subset is not enough
        ("multiple_choice", MULTIPLE, [0, 2, 3], False),  # nor a superset
        ("multiple_choice", MULTIPLE, [], False),
        ("text", TEXT, "int", True),
        ("text", TEXT, "  INT  ", True),  # trimmed, case-insensitive
        ("text", TEXT, "int ()", False),  # inner space is not removed, only collapsed
        ("text", TEXT, "int()", True),
        ("text", TEXT, "float", False),
        ("text", TEXT_CASE, "NaN", True),
        ("text", TEXT_CASE, "nan", False),  # caseSensitive
        ("text", TEXT_CASE, "\tNaN\n", True),
        ("text", {"question": "q", "answers": ["for  loop"]}, "for \t loop", True),
        ("text", {"question": "q", "answers": ["café"]}, "cafe\u0301", True),  # NFC
        ("numeric", NUMERIC, 0.1 + 0.2, True),  # float noise is not a wrong answer
        ("numeric", NUMERIC, 0.3001, False),  # tolerance 0
        ("numeric", NUMERIC_TOLERANT, 3.15, True),  # within 0.01
        ("numeric", NUMERIC_TOLERANT, 3.132, True),
        ("numeric", NUMERIC_TOLERANT, 3.152, False),  # just beyond
        ("numeric", {"question": "q", "answer": 10, "tolerance": 0}, 10, True),
        ("numeric", {"question": "q", "answer": 10, "tolerance": 0}, 10.0, True),
        ("numeric", {"question": "q", "answer": 10, "tolerance": 0}, 11, False),
        ("ordering", ORDERING, [2, 0, 1], True),
        ("ordering", ORDERING, [0, 2, 1], False),
    ],
)
def test_each_type_grades_right_and_wrong_answers(
    task_type: str, key: dict[str, Any], answer: Any, solved: bool
) -> None:
    assert not list(grading.key_problems(task_type, key, path=""))
    assert grading.grade(task_type, key, answer) is solved


@pytest.mark.parametrize(
    ("task_type", "key", "answer"),
    [
        ("single_choice", SINGLE, 3),  # no such option
        ("single_choice", SINGLE, -1),
        ("single_choice", SINGLE, "1"),
        ("single_choice", SINGLE, True),  # JSON true is not the index 1
        ("single_choice", SINGLE, 1.0),
        ("multiple_choice", MULTIPLE, 0),
        ("multiple_choice", MULTIPLE, [0, 0, 2]),
        ("multiple_choice", MULTIPLE, [4]),
        ("text", TEXT, 42),
        ("text", TEXT, ["int"]),
        ("text", TEXT, "x" * (grading.MAX_TEXT_ANSWER + 1)),
        ("numeric", NUMERIC, "0.3"),
        ("numeric", NUMERIC, None),
        ("numeric", NUMERIC, True),
        ("numeric", NUMERIC, float("nan")),
        ("ordering", ORDERING, [2, 0]),  # not every item
        ("ordering", ORDERING, [2, 2, 1]),
        ("ordering", ORDERING, [0, 1, 3]),
        ("ordering", ORDERING, "201"),
        ("code", {"question": "q", "tests": []}, "print(1)"),
    ],
)
def test_an_answer_of_another_shape_is_refused_without_echoing_it(
    task_type: str, key: dict[str, Any], answer: Any
) -> None:
    with pytest.raises(grading.InvalidAnswer) as raised:
        grading.grade(task_type, key, answer)
    if isinstance(answer, str) and len(answer) > 3:
        assert answer not in str(raised.value)


def test_the_public_view_keeps_only_what_is_needed_to_answer() -> None:
    code = {
        "question": "Write f",
        "function": "f",
        "starterCode": "def f(x):\n    pass",
        "tests": [{"args": [1], "expected": 2}, {"args": [2], "expected": 4}],
        "explanation": "double it",
        "solution": "def f(x): return 2 * x",
    }
    assert grading.public_content("code", code) == {
        "question": "Write f",
        "function": "f",
        "starterCode": "def f(x):\n    pass",
        "tests": [{"args": [1]}, {"args": [2]}],
    }
    assert grading.public_content("single_choice", SINGLE) == {
        "question": "q",
        "options": ["a", "b", "c"],
    }
    assert grading.public_content("multiple_choice", MULTIPLE) == {
        "question": "q",
        "options": ["a", "b", "c", "d"],
    }
    assert grading.public_content("text", TEXT) == {"question": "q", "caseSensitive": False}
    assert grading.public_content("numeric", NUMERIC) == {"question": "q", "tolerance": 0}
    assert grading.public_content("ordering", ORDERING) == {
        "question": "q",
        "items": ["x", "y", "z"],
    }
    # a field no list names (an author's own `hint`, a misspelt key) stays secret
    assert grading.public_content("text", {"question": "q", "answerz": ["x"]}) == {"question": "q"}


def _course(task: dict[str, Any], *, grading_: str = "server") -> dict[str, Any]:
    theme = {"key": "t", "title": "T", "tasks": [task]}
    section = {"key": "s", "title": "S", "themes": [theme]}
    return {"courses": [{"key": "c", "title": "C", "grading": grading_, "sections": [section]}]}


@pytest.mark.parametrize(
    ("task", "problem"),
    [
        (
            {"type": "single_choice", "content": {"options": ["a"], "answer": 1}},
            "content.answer: the index of the right option is needed",
        ),
        (
            {"type": "multiple_choice", "content": {"options": ["a", "b"], "answers": [0, 0]}},
            "content.answers: distinct indices",
        ),
        (
            {"type": "text", "content": {"answers": ["  "]}},
            "content.answers: a list of accepted answers",
        ),
        ({"type": "numeric", "content": {"answer": "3"}}, "content.answer: a finite number"),
        (
            {"type": "numeric", "content": {"answer": 3, "tolerance": -1}},
            "content.tolerance: a finite number of at least 0",
        ),
        (
            {"type": "ordering", "content": {"items": ["a", "b"], "answer": [1, 1]}},
            "content.answer: the item indices in the right order",
        ),
        (
            {"type": "code", "grading": "server", "content": {}},
            "tasks[0].grading: code tasks cannot be graded by the server",
        ),
    ],
)
def test_a_server_graded_task_without_a_usable_key_is_refused_with_its_path(
    task: dict[str, Any], problem: str
) -> None:
    entry = {"key": "k", "title": "K", **task}
    with pytest.raises(ContentImportError) as raised:
        content_document.parse_document(_course(entry))
    path = "courses[0].sections[0].themes[0].tasks[0]."
    assert [f"{p.path}: {p.message}" for p in raised.value.problems][0].startswith(
        path + problem.removeprefix("tasks[0].")
    )


def test_grading_is_the_tasks_own_else_the_courses_for_types_the_server_can_grade() -> None:
    tasks = [
        {"key": "a", "title": "A", "type": "single_choice", "content": SINGLE},
        {"key": "b", "title": "B", "type": "code"},  # never by the server unless asked
        {"key": "c", "title": "C", "type": "text", "grading": "client"},
    ]
    data = _course(tasks[0])
    data["courses"][0]["sections"][0]["themes"][0]["tasks"] = tasks
    document = content_document.parse_document(data)
    course = document.courses[0]
    entries = course.sections[0].themes[0].tasks
    assert [content_document.task_grading(course, t) for t in entries] == [
        "server",
        "client",
        "client",
    ]
    # a client-graded course needs no keys at all
    content_document.parse_document(
        _course({"key": "k", "title": "K", "type": "text"}, grading_="client")
    )
