"""Content nodes: course > section > theme > task, each with the viewer's progress.

A course's tree is fetched in bulk and shared by requests (gql/content/tree.py): sections
hold their themes and themes their tasks, and the viewer's progress sits in the request's
maps, so nested fields resolve synchronously without a future per node. A node fetched on
its own (``node(id:)``) has nothing attached and loads what is asked through the dataloaders.
"""

import uuid
from datetime import datetime
from enum import Enum
from typing import Any

import orjson
import strawberry
from strawberry.scalars import JSON

from domain import grading
from gql.context import Context
from gql.fast_execution import prefetched, prefetched_by_key
from gql.ids import to_global_id
from gql.progress.types import NEW_TASK_STATE, Progress, TaskState, ThemeProgress

Info = strawberry.Info[Context, None]


@strawberry.interface(description="An object with a global id, fetchable through `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="The global id of this object.")


@strawberry.enum(description="What kind of exercise a task is.")
class TaskType(Enum):
    SINGLE_CHOICE = strawberry.enum_value("single_choice", description="Pick one option.")
    MULTIPLE_CHOICE = strawberry.enum_value(
        "multiple_choice", description="Pick every right option."
    )
    TEXT = strawberry.enum_value("text", description="Type a short answer.")
    NUMERIC = strawberry.enum_value("numeric", description="Give a number.")
    CODE = strawberry.enum_value("code", description="Write code that passes tests.")
    ORDERING = strawberry.enum_value("ordering", description="Put items in order.")


TASK_TYPES = {t.value: t for t in TaskType}


@strawberry.enum(description="Who decides whether an attempt solved a task.")
class Grading(Enum):
    SERVER = strawberry.enum_value(
        "server",
        description="The server, from the learner's `answer` (the client's `solved` is ignored).",
    )
    CLIENT = strawberry.enum_value(
        "client", description="The client, which sends `solved` with the attempt."
    )


@strawberry.type(description="One exercise. Only active tasks appear in the tree.")
class Task(Node):
    db_id: strawberry.Private[uuid.UUID]
    key: str = strawberry.field(description="Stable external key from the content file.")
    title: str = strawberry.field(description="Title shown to the learner.")
    type: TaskType = strawberry.field(description="The kind of exercise.")
    content_json: strawberry.Private[str]
    difficulty: int | None = strawberry.field(description="1 (easy) to 5 (hard), if set.")
    active: bool = strawberry.field(description="Whether the task counts toward progress.")
    order: int = strawberry.field(description="Position within its theme.")
    grading: Grading = strawberry.field(
        description="Who grades attempts at it: with `SERVER`, send the learner's `answer` and "
        "read the verdict from the attempt; with `CLIENT`, send `solved`."
    )
    reveal_after_failures: strawberry.Private[int | None] = None
    # The content without its answer key, made on first use; a tree's tasks are shared by
    # the requests of a content version, so it is made once per task and version.
    public_json: strawberry.Private[str | None] = None

    @classmethod
    def from_row(cls, row: Any) -> "Task":
        return cls(
            id=strawberry.ID(to_global_id("Task", row.id)),
            db_id=row.id,
            key=row.key,
            title=row.title,
            type=TASK_TYPES[row.type],
            content_json=row.content_json,
            difficulty=row.difficulty,
            active=row.active,
            order=row.order_index,
            grading=Grading(row.grading),
            reveal_after_failures=row.reveal_after_failures,
        )

    @strawberry.field(
        description="The exercise. Learners and anonymous clients get it without its answer "
        "key (the right options, accepted answers, expected outputs, explanation: only the "
        "fields needed to answer) until the viewer has solved the task, or failed it as often "
        "as the course allows; admins get it as authored."
    )
    async def content(self, info: Info) -> JSON:
        content: JSON = orjson.loads(await self.visible_content_json(info))
        return content

    async def visible_content_json(self, info: Info) -> str:
        """The content JSON the viewer may see: as authored once revealed, else public."""
        if await self.revealed(info):
            return self.content_json
        if self.public_json is None:
            public = grading.public_content(str(self.type.value), orjson.loads(self.content_json))
            self.public_json = orjson.dumps(public).decode()
        return self.public_json

    async def revealed(self, info: Info) -> bool:
        """Whether the viewer may see the answer key: an admin, or a learner who solved the
        task or failed it ``reveal_after_failures`` times."""
        identity = info.context.identity
        if identity is None:
            return False
        if identity.is_admin:
            return True
        state = info.context.prefetched.get("task_state", {}).get(self.db_id)
        if state is None:
            state = await info.context.loaders.task_state.load((identity.user_id, self.db_id))
            if state is None:
                return False
        status = str(getattr(state.status, "value", state.status))
        return grading.revealed(status, state.failure_count, self.reveal_after_failures)

    @strawberry.field(description="The viewer's state on this task; needs a bearer token.")
    @prefetched_by_key("task_state", "db_id")
    async def state(self, info: Info) -> TaskState | None:
        row = await info.context.loaders.task_state.load((info.context.user_id, self.db_id))
        return TaskState.from_row(row) if row else NEW_TASK_STATE

    @strawberry.field(
        description="When the viewer's next retry or review of this task is due; null when "
        "none is queued. Needs a bearer token."
    )
    async def next_due_at(self, info: Info) -> datetime | None:
        due: datetime | None = await info.context.loaders.next_due.load(
            (info.context.user_id, self.db_id)
        )
        return due


@strawberry.type(description="A group of tasks on one topic inside a section.")
class Theme(Node):
    db_id: strawberry.Private[uuid.UUID]
    key: str = strawberry.field(description="Stable external key from the content file.")
    title: str = strawberry.field(description="Title shown to the learner.")
    order: int = strawberry.field(description="Position within its section.")
    prefetched_tasks: strawberry.Private[list[Task] | None] = None

    @classmethod
    def from_row(cls, row: Any) -> "Theme":
        return cls(
            id=strawberry.ID(to_global_id("Theme", row.id)),
            db_id=row.id,
            key=row.key,
            title=row.title,
            order=row.order_index,
        )

    @strawberry.field(description="The theme's active tasks in display order.")
    @prefetched("prefetched_tasks")
    def tasks(self, info: Info) -> list[Task]:
        if self.prefetched_tasks is not None:
            return self.prefetched_tasks
        return _tasks(info, self.db_id)  # type: ignore[return-value]

    @strawberry.field(description="The viewer's progress in this theme; needs a bearer token.")
    @prefetched_by_key("theme_progress", "db_id")
    async def progress(self, info: Info) -> ThemeProgress | None:
        row = await info.context.loaders.theme_progress.load((info.context.user_id, self.db_id))
        return ThemeProgress.from_row(row) if row else ThemeProgress(solved_tasks=0, total_tasks=0)


async def _tasks(info: Info, theme_id: uuid.UUID) -> list[Task]:
    rows = await info.context.loaders.tasks_by_theme.load(theme_id)
    return [Task.from_row(row) for row in rows]


@strawberry.type(description="A chapter of a course.")
class Section(Node):
    db_id: strawberry.Private[uuid.UUID]
    key: str = strawberry.field(description="Stable external key from the content file.")
    title: str = strawberry.field(description="Title shown to the learner.")
    order: int = strawberry.field(description="Position within its course.")
    total_tasks: int = strawberry.field(description="Active tasks in this section.")
    prefetched_themes: strawberry.Private[list[Theme] | None] = None

    @classmethod
    def from_row(cls, row: Any) -> "Section":
        return cls(
            id=strawberry.ID(to_global_id("Section", row.id)),
            db_id=row.id,
            key=row.key,
            title=row.title,
            order=row.order_index,
            total_tasks=row.total_tasks_cached,
        )

    @strawberry.field(description="The section's themes in display order.")
    @prefetched("prefetched_themes")
    def themes(self, info: Info) -> list[Theme]:
        if self.prefetched_themes is not None:
            return self.prefetched_themes
        return _themes(info, self.db_id)  # type: ignore[return-value]

    @strawberry.field(description="The viewer's progress in this section; needs a bearer token.")
    @prefetched_by_key("section_progress", "db_id")
    async def progress(self, info: Info) -> Progress | None:
        row = await info.context.loaders.section_progress.load((info.context.user_id, self.db_id))
        return Progress.from_row(row) if row else Progress.zero(self.total_tasks)


async def _themes(info: Info, section_id: uuid.UUID) -> list[Theme]:
    rows = await info.context.loaders.themes_by_section.load(section_id)
    return [Theme.from_row(row) for row in rows]


@strawberry.enum(description="When a learner's enrollment in a course counts as completed.")
class CompletionPolicy(Enum):
    LIVE = strawberry.enum_value(
        "live",
        description="Completed exactly while every active task is solved: a task added later"
        " re-opens the enrollment and clears `completedAt`.",
    )
    STICKY = strawberry.enum_value(
        "sticky",
        description="Once every active task was solved, completed for good; tasks added later"
        " still count in the percent.",
    )


@strawberry.type(description="A course: an ordered tree of sections, themes and tasks.")
class Course(Node):
    db_id: strawberry.Private[uuid.UUID]
    key: str = strawberry.field(description="Stable external key from the content file.")
    title: str = strawberry.field(description="Title shown to the learner.")
    description: str = strawberry.field(description="What the course is about.")
    total_tasks: int = strawberry.field(description="Active tasks in this course.")
    completion: CompletionPolicy = strawberry.field(
        description="When an enrollment in this course counts as completed (the content file's"
        " `completion`)."
    )
    # The content version read with this row: which shared tree is this course's content.
    content_version: strawberry.Private[int | None] = None

    @classmethod
    def from_row(cls, row: Any) -> "Course":
        return cls(
            id=strawberry.ID(to_global_id("Course", row.id)),
            db_id=row.id,
            key=row.key,
            title=row.title,
            description=row.description,
            total_tasks=row.total_tasks_cached,
            completion=CompletionPolicy(row.completion),
            content_version=row.content_version,
        )

    @strawberry.field(description="The course's sections in display order.")
    async def sections(self, info: Info) -> list[Section]:
        from gql.content import tree  # tree builds these types: imported late, not in a cycle

        return await tree.load_sections(info, self.db_id, self.content_version)

    @strawberry.field(description="The viewer's progress in this course; needs a bearer token.")
    async def progress(self, info: Info) -> Progress | None:
        key = (info.context.user_id, self.db_id)
        row = await info.context.loaders.course_progress.load(key)
        return Progress.from_row(row) if row else Progress.zero(self.total_tasks)
