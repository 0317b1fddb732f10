"""A course's whole tree in bulk: sections, themes and tasks (three statements) and, when the
query asks for it, the viewer's progress on every node (three more), handed down as plain
data so nested fields resolve without a future per node."""

import uuid
from typing import Any

from gql.content.types import Info, Section, Task, Theme
from gql.progress.types import NEW_TASK_STATE, Progress, TaskState, ThemeProgress

PROGRESS_FIELDS = frozenset({"progress", "state"})


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


async def load_sections(info: Info, course_id: uuid.UUID) -> list[Section]:
    """The course's sections with themes, tasks and (if asked) the viewer's progress attached."""
    section_rows, theme_rows, task_rows = await info.context.loaders.course_tree.load(course_id)
    identity = info.context.identity
    progress = None
    if identity is not None and _asks_for_progress(info):
        progress = await info.context.loaders.course_tree_progress.load(
            (identity.user_id, course_id)
        )
    return _build(section_rows, theme_rows, task_rows, progress)


def _build(
    section_rows: list[Any], theme_rows: list[Any], task_rows: list[Any], progress: Any
) -> list[Section]:
    sections = [Section.from_row(row) for row in section_rows]
    themes = [Theme.from_row(row) for row in theme_rows]
    tasks = [Task.from_row(row) for row in task_rows]
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
    if progress is not None:
        _attach_progress(sections, themes, tasks, progress)
    return sections


def _attach_progress(
    sections: list[Section], themes: list[Theme], tasks: list[Task], progress: Any
) -> None:
    section_rows, theme_rows, task_rows = progress
    by_section = {row.section_id: row for row in section_rows}
    by_theme = {row.theme_id: row for row in theme_rows}
    by_task = {row.task_id: row for row in task_rows}
    for section in sections:
        row = by_section.get(section.db_id)
        section.prefetched_progress = (
            Progress.from_row(row) if row else Progress.zero(section.total_tasks)
        )
    for theme in themes:
        row = by_theme.get(theme.db_id)
        theme.prefetched_progress = (
            ThemeProgress.from_row(row) if row else ThemeProgress(solved_tasks=0, total_tasks=0)
        )
    for task in tasks:
        row = by_task.get(task.db_id)
        task.prefetched_state = TaskState.from_row(row) if row else NEW_TASK_STATE
