"""The content file (courses > sections > themes > tasks, badges > rules): reading, checking.

A document is validated completely before anything is written, and every problem is
reported with its path (``courses[0].sections[1].themes[0].tasks[3].type``).
"""

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from db import models
from domain import badge_rules, grading, retry_policy
from domain.errors import ContentImportError, Problem

SUFFIXES = (".json", ".yaml", ".yml")
GRADINGS = grading.GRADINGS  # the entries' `grading` fields shadow the module in their bodies
MAX_PROBLEMS_IN_MESSAGE = 5


def _one_of(allowed: tuple[str, ...]) -> AfterValidator:
    def check(value: str) -> str:
        if value not in allowed:
            raise PydanticCustomError(
                "one_of", "Input should be one of: {allowed}", {"allowed": ", ".join(allowed)}
            )
        return value

    return AfterValidator(check)


def _storable(value: JsonValue) -> None:
    # PostgreSQL's jsonb has no NaN/Infinity and no NUL character; refuse them here so a
    # bad value fails validation instead of the import halfway through.
    if isinstance(value, float) and not math.isfinite(value):
        raise PydanticCustomError("json_number", "NaN and infinity cannot be stored")
    if isinstance(value, str) and "\x00" in value:
        raise PydanticCustomError("json_string", "The NUL character cannot be stored")
    if isinstance(value, list):
        for item in value:
            _storable(item)
    if isinstance(value, dict):
        for key, item in value.items():
            _storable(key)
            _storable(item)


def _storable_object(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    _storable(value)
    return value


Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._/-]{0,127}$")]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Order = Annotated[int, Field(ge=0, le=2**31 - 1)]
JsonObject = Annotated[dict[str, JsonValue], AfterValidator(_storable_object)]


class _Entry(BaseModel):
    # Strict: YAML's `2` must not become "2" nor `yes` become 1 without anyone noticing.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class TaskEntry(_Entry):
    key: Key
    title: Title
    type: Annotated[str, _one_of(models.TASK_TYPES)]
    difficulty: Annotated[int, Field(ge=1, le=5)] | None = None
    active: bool = True
    order: Order | None = None
    # Overrides the course's grading for this task (see domain.grading).
    grading: Annotated[str, _one_of(GRADINGS)] | None = None
    content: JsonObject = Field(default_factory=dict)


class ThemeEntry(_Entry):
    key: Key
    title: Title
    order: Order | None = None
    tasks: list[TaskEntry] = Field(default_factory=list)


class SectionEntry(_Entry):
    key: Key
    title: Title
    order: Order | None = None
    themes: list[ThemeEntry] = Field(default_factory=list)


class CourseEntry(_Entry):
    key: Key
    title: Title
    description: str = ""
    # Absent: a new course goes after every course stored; a stored one keeps its place.
    order: Order | None = None
    # live: completed exactly while every active task is solved; sticky: stays completed.
    completion: Annotated[str, _one_of(models.COMPLETION_POLICIES)] = "live"
    # Retired: hidden, its tasks inactive, kept for history (its tree may be left out).
    retired: bool = False
    # Task-queue overrides; absent = the default retry ladder (see domain.retry_policy).
    queue_policy: retry_policy.PolicyDocument | None = None
    # `server`: the server grades the course's auto-gradable tasks from the learner's answer;
    # `client`: the client says whether an attempt solved the task.
    grading: Annotated[str, _one_of(GRADINGS)] = "client"
    # A learner sees a task's answer key and explanation once they solve it, or once they
    # failed it this many times (None: only by solving it).
    reveal_after_failures: Annotated[int, Field(ge=1, le=1000)] | None = None
    sections: list[SectionEntry] = Field(default_factory=list)


class RuleEntry(_Entry):
    key: Key
    type: Annotated[str, _one_of(models.BADGE_RULE_TYPES)]
    criteria: JsonObject = Field(default_factory=dict)
    active: bool = True


class BadgeEntry(_Entry):
    key: Key
    name: Title
    description: str = ""
    media: JsonObject = Field(default_factory=dict)
    active: bool = True
    rules: list[RuleEntry] = Field(default_factory=list)


class ContentDocument(_Entry):
    courses: list[CourseEntry] = Field(default_factory=list)
    badges: list[BadgeEntry] = Field(default_factory=list)


def load_document(path: Path) -> ContentDocument:
    """Read and validate a .json, .yaml or .yml content file; raise ContentImportError."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise _file_error(
            path, f"unsupported file extension {suffix or '(none)'!r}; use .json, .yaml or .yml"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise _file_error(path, f"cannot read the file: {error}") from error
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise _file_error(path, f"invalid JSON at {where}: {error.msg}") from error
    except yaml.YAMLError as error:
        raise _file_error(path, f"invalid YAML {_yaml_location(error)}") from error
    return _validate(data, source=str(path))


def parse_document(data: object) -> ContentDocument:
    """Validate already-parsed data (dicts and lists as from JSON); raise ContentImportError."""
    return _validate(data, source="the content document")


def _validate(data: object, *, source: str) -> ContentDocument:
    try:
        document = ContentDocument.model_validate(data)
    except ValidationError as error:
        problems = [Problem(_path(e["loc"]), e["msg"]) for e in error.errors()]
    else:
        problems = [
            *_duplicate_keys(document),
            *_rule_problems(document),
            *_grading_problems(document),
        ]
    if problems:
        raise ContentImportError(_describe(problems, source), problems)
    return document


def _rule_problems(document: ContentDocument) -> Iterator[Problem]:
    for b, badge in enumerate(document.badges):
        for r, rule in enumerate(badge.rules):
            _, problems = badge_rules.validate(
                rule.type, rule.criteria, path=f"badges[{b}].rules[{r}]."
            )
            yield from problems


def task_grading(course: CourseEntry, task: TaskEntry) -> str:
    """How ``task`` is graded: its own setting, else the course's for a type the server can
    grade, else by the client."""
    if task.grading is not None:
        return task.grading
    return course.grading if task.type in grading.SERVER_GRADABLE else "client"


def _grading_problems(document: ContentDocument) -> Iterator[Problem]:
    for c, course in enumerate(document.courses):
        for s, section in enumerate(course.sections):
            for t, theme in enumerate(section.themes):
                for k, task in enumerate(theme.tasks):
                    if task_grading(course, task) == "server":
                        path = f"courses[{c}].sections[{s}].themes[{t}].tasks[{k}].content."
                        yield from grading.key_problems(task.type, task.content, path=path)


def _duplicate_keys(document: ContentDocument) -> Iterator[Problem]:
    first_seen: dict[tuple[str, str], str] = {}
    for kind, key, path in _keyed_entries(document):
        first = first_seen.setdefault((kind, key), path)
        if first != path:
            yield Problem(path, f"duplicate {kind} key {key!r}, first used at {first}")


def _keyed_entries(document: ContentDocument) -> Iterator[tuple[str, str, str]]:
    for c, course in enumerate(document.courses):
        course_path = f"courses[{c}]"
        yield "course", course.key, f"{course_path}.key"
        for s, section in enumerate(course.sections):
            section_path = f"{course_path}.sections[{s}]"
            yield "section", section.key, f"{section_path}.key"
            for t, theme in enumerate(section.themes):
                theme_path = f"{section_path}.themes[{t}]"
                yield "theme", theme.key, f"{theme_path}.key"
                for k, task in enumerate(theme.tasks):
                    yield "task", task.key, f"{theme_path}.tasks[{k}].key"
    for b, badge in enumerate(document.badges):
        yield "badge", badge.key, f"badges[{b}].key"
        for r, rule in enumerate(badge.rules):
            yield "badge rule", rule.key, f"badges[{b}].rules[{r}].key"


def _path(loc: tuple[int | str, ...]) -> str:
    parts = [f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc]
    return "".join(parts).removeprefix(".")


def _describe(problems: list[Problem], source: str) -> str:
    shown = "; ".join(
        f"{p.path}: {p.message}" if p.path else p.message
        for p in problems[:MAX_PROBLEMS_IN_MESSAGE]
    )
    more = len(problems) - MAX_PROBLEMS_IN_MESSAGE
    count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
    return f"{count} in {source}: {shown}" + (f"; and {more} more" if more > 0 else "")


def _file_error(path: Path, message: str) -> ContentImportError:
    return ContentImportError(f"{path}: {message}", [Problem("", message)])


def _yaml_location(error: yaml.YAMLError) -> str:
    mark: Any = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return f": {problem}"
    return f"at line {mark.line + 1}, column {mark.column + 1}: {problem}"
