"""A course's whole tree for the course page: content shared across requests, the viewer's
progress per request.

Content (sections, themes, tasks) is built once per content version and kept by the process
(gql/content/tree_cache.py): the course row comes with the version it was read at, so a
request knows without another statement whether the kept tree is still its content. A miss
reads the version and the tree in one snapshot (three statements for the tree); requests that
miss while it is read wait for it. The viewer's
progress is read per request (two statements) into the request's maps, which the progress
fields answer from (``prefetched_by_key``): a request builds progress values, no nodes.
"""

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from gql.content.types import Info, Section, Task, Theme
from gql.fast_execution import share
from gql.progress.types import NEW_TASK_STATE, Progress, TaskState, ThemeProgress

PROGRESS_FIELDS = frozenset({"progress", "state"})
SOLVED = "solved"


@dataclass(frozen=True, slots=True)
class CourseTree:
    """A course's content as read at ``version``; shared by requests, so never changed."""

    version: int | None
    sections: list[Section]
    task_ids: list[uuid.UUID]
    theme_of_task: dict[uuid.UUID, uuid.UUID]
    # Active tasks per theme, for theme progress (counted, not stored).
    task_counts: dict[uuid.UUID, int]


def _asks_for_progress(info: Info) -> bool:
    # Fragments and inline fragments are looked into; an unknown shape counts as "yes".
    stack = [node.selection_set for node in info._raw_info.field_nodes if node.selection_set]
    fragments = info._raw_info.fragments
    while stack:
        for selection in stack.pop().selections:
            name = getattr(getattr(selection, "name", None), "value", None)
            if selection.kind == "field" and name in PROGRESS_FIELDS:
                return True
            if selection.kind == "fragment_spread":
                fragment = fragments.get(name or "")
                if fragment is None:
                    return True
                stack.append(fragment.selection_set)
            elif (nested := getattr(selection, "selection_set", None)) is not None:
                stack.append(nested)
    return False


async def load_sections(info: Info, course_id: uuid.UUID, version: int | None) -> list[Section]:
    """The course's sections (themes and tasks attached) as of content ``version`` or later,
    and, if the query asks for it, the viewer's progress in the request's maps."""

    async def build() -> CourseTree:
        read_at, rows = await info.context.loaders.course_tree_snapshot.load(course_id)
        return _build(read_at, *rows)

    tree: CourseTree = await info.context.trees.get_or_build(course_id, version, build)
    identity = info.context.identity
    if identity is not None and _asks_for_progress(info):
        progress = await info.context.loaders.course_tree_progress.load(
            (identity.user_id, course_id)
        )
        _prefetch_progress(info.context.prefetched, tree, progress)
    return tree.sections


def _build(
    version: int | None, section_rows: list[Any], theme_rows: list[Any], task_rows: list[Any]
) -> CourseTree:
    sections = [share(Section.from_row(row)) for row in section_rows]
    themes = [share(Theme.from_row(row)) for row in theme_rows]
    tasks = [share(Task.from_row(row)) for row in task_rows]
    themes_of: dict[uuid.UUID, list[Theme]] = {s.db_id: [] for s in sections}
    for theme, row in zip(themes, theme_rows, strict=True):
        themes_of[row.section_id].append(theme)
    tasks_of: dict[uuid.UUID, list[Task]] = {t.db_id: [] for t in themes}
    for task, row in zip(tasks, task_rows, strict=True):
        tasks_of[row.theme_id].append(task)
    for section in sections:
        section.prefetched_themes = themes_of[section.db_id]
    for theme in themes:
        theme.prefetched_tasks = tasks_of[theme.db_id]
    return CourseTree(
        version=version,
        sections=sections,
        task_ids=[task.db_id for task in tasks],
        theme_of_task={row.id: row.theme_id for row in task_rows},
        task_counts={theme_id: len(tasks) for theme_id, tasks in tasks_of.items()},
    )


def _prefetch_progress(
    prefetched: dict[str, dict[Any, Any]], tree: CourseTree, progress: Any
) -> None:
    section_rows, task_rows = progress
    by_section = {row.section_id: row for row in section_rows}
    section_progress = prefetched.setdefault("section_progress", {})
    for section in tree.sections:
        row = by_section.get(section.db_id)
        section_progress[section.db_id] = (
            Progress.from_row(row) if row else Progress.zero(section.total_tasks)
        )
    states = prefetched.setdefault("task_state", {})
    # Every task of the tree gets a state, so none of them falls back to its resolver.
    states.update(dict.fromkeys(tree.task_ids, NEW_TASK_STATE))
    solved: Counter[uuid.UUID] = Counter()
    theme_of_task = tree.theme_of_task
    for row in task_rows:
        states[row.task_id] = TaskState.from_row(row)
        if row.status == SOLVED and (theme_id := theme_of_task.get(row.task_id)) is not None:
            solved[theme_id] += 1
    theme_progress = prefetched.setdefault("theme_progress", {})
    for theme_id, total in tree.task_counts.items():
        theme_progress[theme_id] = ThemeProgress(solved_tasks=solved[theme_id], total_tasks=total)
