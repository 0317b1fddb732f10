"""Answer keys: what a learner may see of a task, and grading an answer on the server.

Pure functions over a task's type and authored content (the JSON of the content file).

The public view keeps, per type, only the fields a learner needs to answer; every other
authored field (the key, the explanation, anything an author adds) is staff-only until the
task is revealed to the learner. Keeping a list of what to show rather than of what to
hide means a field nobody thought of stays secret instead of leaking.
"""

import math
import unicodedata
from collections.abc import Iterator
from typing import Any

from domain.errors import Problem

GRADINGS = ("client", "server")
# Types the server can grade from the key; a `code` task runs the learner's program, which
# the server does not do, so it is always graded by the client.
SERVER_GRADABLE = ("single_choice", "multiple_choice", "text", "numeric", "ordering")

PUBLIC_FIELDS: dict[str, tuple[str, ...]] = {
    "single_choice": ("question", "options"),
    "multiple_choice": ("question", "options"),
    "text": ("question", "caseSensitive"),
    "numeric": ("question", "tolerance", "unit"),
    "code": ("question", "function", "starterCode", "tests"),
    "ordering": ("question", "items"),
}
# Inside a public list of objects, the fields kept per item (`tests[].expected` is the key).
PUBLIC_ITEM_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("code", "tests"): ("args",),
}

MAX_TEXT_ANSWER = 1000
# Float answers are compared with the task's tolerance plus this relative slack, so that an
# answer written as 0.3 matches a key computed as 0.1 + 0.2.
RELATIVE_SLACK = 1e-9


class InvalidAnswer(ValueError):
    """The answer is not of the shape the task type takes; the message names no value."""


def public_content(task_type: str, content: dict[str, Any]) -> dict[str, Any]:
    """``content`` without its answer key: what a learner sees before the task is revealed."""
    view: dict[str, Any] = {}
    for name in PUBLIC_FIELDS.get(task_type, ("question",)):
        if name not in content:
            continue
        value = content[name]
        item_fields = PUBLIC_ITEM_FIELDS.get((task_type, name))
        if item_fields is not None and isinstance(value, list):
            value = [
                {k: v for k, v in item.items() if k in item_fields}
                if isinstance(item, dict)
                else item
                for item in value
            ]
        view[name] = value
    return view


def revealed(status: str, failure_count: int, reveal_after_failures: int | None) -> bool:
    """Whether a learner may see a task's key and explanation: once they solved it, or
    failed it as often as its course allows (None: only by solving it)."""
    if status == "solved":
        return True
    return reveal_after_failures is not None and failure_count >= reveal_after_failures


def explanation(content: dict[str, Any]) -> str | None:
    """The authored explanation, if the task has a text one."""
    value = content.get("explanation")
    return value if isinstance(value, str) else None


def key_problems(task_type: str, content: dict[str, Any], *, path: str) -> Iterator[Problem]:
    """Why ``content`` cannot be graded by the server (nothing: it can). ``path`` prefixes
    each problem's path (``courses[0]...tasks[2].content.``)."""
    if task_type not in SERVER_GRADABLE:
        yield Problem(
            path.removesuffix("content.") + "grading",
            f"{task_type} tasks cannot be graded by the server; use grading: client",
        )
        return
    options = content.get("options")
    items = content.get("items")
    if task_type in ("single_choice", "multiple_choice") and not _strings(options):
        yield Problem(f"{path}options", "a list of at least one option (strings) is needed")
        return
    if task_type == "single_choice":
        if not _index(content.get("answer"), len(options)):  # type: ignore[arg-type]
            yield Problem(f"{path}answer", "the index of the right option is needed")
    elif task_type == "multiple_choice":
        answers = content.get("answers")
        if not (
            isinstance(answers, list)
            and all(_index(i, len(options)) for i in answers)  # type: ignore[arg-type]
            and len(set(answers)) == len(answers)
        ):
            yield Problem(f"{path}answers", "distinct indices of the right options are needed")
    elif task_type == "text":
        if not (
            _strings(content.get("answers")) and all(_normal(a, True) for a in content["answers"])
        ):
            yield Problem(
                f"{path}answers", "a list of accepted answers (non-blank strings) is needed"
            )
        if not isinstance(content.get("caseSensitive", False), bool):
            yield Problem(f"{path}caseSensitive", "true or false is needed")
    elif task_type == "numeric":
        if not _number(content.get("answer")):
            yield Problem(f"{path}answer", "a finite number is needed")
        tolerance = content.get("tolerance", 0)
        if not (_number(tolerance) and tolerance >= 0):
            yield Problem(f"{path}tolerance", "a finite number of at least 0 is needed")
    elif task_type == "ordering":
        if not _strings(items):
            yield Problem(f"{path}items", "a list of at least one item (strings) is needed")
        elif not _permutation(content.get("answer"), len(items)):  # type: ignore[arg-type]
            yield Problem(
                f"{path}answer", "the item indices in the right order (each once) are needed"
            )


def grade(task_type: str, content: dict[str, Any], answer: Any) -> bool:
    """Whether ``answer`` solves the task with key ``content``; raises InvalidAnswer when the
    answer is not of the type's shape (an index, a list of indices, a string, a number, an
    ordering). The key is assumed valid (``key_problems`` found nothing at import)."""
    if task_type == "single_choice":
        count = len(content["options"])
        if not _index(answer, count):
            raise InvalidAnswer(f"the answer must be an option index from 0 to {count - 1}")
        return bool(answer == content["answer"])
    if task_type == "multiple_choice":
        count = len(content["options"])
        if not (isinstance(answer, list) and all(_index(i, count) for i in answer)):
            raise InvalidAnswer(
                f"the answer must be a list of option indices from 0 to {count - 1}"
            )
        if len(set(answer)) != len(answer):
            raise InvalidAnswer("the answer lists an option more than once")
        return set(answer) == set(content["answers"])
    if task_type == "text":
        if not isinstance(answer, str):
            raise InvalidAnswer("the answer must be a string")
        if len(answer) > MAX_TEXT_ANSWER:
            raise InvalidAnswer(f"the answer must be at most {MAX_TEXT_ANSWER} characters")
        case_sensitive = content.get("caseSensitive", False) is True
        given = _normal(answer, case_sensitive)
        return any(given == _normal(accepted, case_sensitive) for accepted in content["answers"])
    if task_type == "numeric":
        if not _number(answer):
            raise InvalidAnswer("the answer must be a finite number")
        expected = float(content["answer"])
        tolerance = float(content.get("tolerance", 0))
        slack = RELATIVE_SLACK * max(1.0, abs(expected))
        return abs(float(answer) - expected) <= tolerance + slack
    if task_type == "ordering":
        count = len(content["items"])
        if not _permutation(answer, count):
            raise InvalidAnswer(
                f"the answer must list each item index from 0 to {count - 1} exactly once"
            )
        return list(answer) == list(content["answer"])
    raise InvalidAnswer(f"{task_type} tasks are not graded by the server")


def _normal(text: str, case_sensitive: bool) -> str:
    # Unicode-normalised, trimmed, inner runs of whitespace as one space; case folded unless
    # the task is case-sensitive.
    folded = " ".join(unicodedata.normalize("NFC", text).split())
    return folded if case_sensitive else folded.casefold()


def _strings(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _index(value: Any, count: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < count


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _permutation(value: Any, count: int) -> bool:
    return (
        isinstance(value, list)
        and len(value) == count
        and all(_index(i, count) for i in value)
        and len(set(value)) == count
    )
