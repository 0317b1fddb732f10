"""Content nodes: course > section > theme > task, each with the viewer's progress."""

import uuid
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from gql.context import Context
from gql.ids import to_global_id
from gql.progress.types import NEW_TASK_STATE, Progress, TaskState, ThemeProgress

Info = strawberry.Info[Context, None]


@strawberry.interface(description="An object with a global id, fetchable through `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="The global id of this object.")


@strawberry.enum(description="What kind of exercise a task is.")
class TaskType(Enum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    TEXT = "text"
    NUMERIC = "numeric"
    CODE = "code"
    ORDERING = "ordering"


@strawberry.type(description="One exercise. Only active tasks appear in the tree.")
class Task(Node):
    db_id: strawberry.Private[uuid.UUID]
    key: str = strawberry.field(description="Stable external key from the content file.")
    title: str = strawberry.field(description="Title shown to the learner.")
    type: TaskType = strawberry.field(description="The kind of exercise.")
    content: JSON = strawberry.field(description="The exercise itself, as authored.")
    difficulty: int | None = strawberry.field(description="1 (easy) to 5 (hard), if set.")
    active: bool = strawberry.field(description="Whether the task counts toward progress.")
    order: int = strawberry.field(description="Position within its theme.")

    @classmethod
    def from_row(cls, row: Any) -> "Task":
        return cls(
            id=strawberry.ID(to_global_id("Task", row.id)),
            db_id=row.id,
            key=row.key,
            title=row.title,
            type=TaskType(row.type),
            content=row.content,
            difficulty=row.difficulty,
            active=row.active,
            order=row.order_index,
        )

    @strawberry.field(description="The viewer's state on this task; needs a bearer token.")
    async def state(self, info: Info) -> TaskState | None:
        row = await info.context.loaders.task_state.load((info.context.user_id, self.db_id))
        return TaskState.from_row(row) if row else NEW_TASK_STATE


@strawberry.type(description="A group of tasks on one topic inside a section.")
class Theme(Node):
    db_id: strawberry.Private[uuid.UUID]
    key: str = strawberry.field(description="Stable external key from the content file.")
    title: str = strawberry.field(description="Title shown to the learner.")
    order: int = strawberry.field(description="Position within its section.")

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
    async def tasks(self, info: Info) -> list[Task]:
        rows = await info.context.loaders.tasks_by_theme.load(self.db_id)
        return [Task.from_row(row) for row in rows]

    @strawberry.field(description="The viewer's progress in this theme; needs a bearer token.")
    async def progress(self, info: Info) -> ThemeProgress | None:
        row = await info.context.loaders.theme_progress.load((info.context.user_id, self.db_id))
        return ThemeProgress.from_row(row) if row else ThemeProgress(solved_tasks=0, total_tasks=0)


@strawberry.type(description="A chapter of a course.")
class Section(Node):
    db_id: strawberry.Private[uuid.UUID]
    key: str = strawberry.field(description="Stable external key from the content file.")
    title: str = strawberry.field(description="Title shown to the learner.")
    order: int = strawberry.field(description="Position within its course.")
    total_tasks: int = strawberry.field(description="Active tasks in this section.")

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
    async def themes(self, info: Info) -> list[Theme]:
        rows = await info.context.loaders.themes_by_section.load(self.db_id)
        return [Theme.from_row(row) for row in rows]

    @strawberry.field(description="The viewer's progress in this section; needs a bearer token.")
    async def progress(self, info: Info) -> Progress | None:
        key = (info.context.user_id, self.db_id)
        row = await info.context.loaders.section_progress.load(key)
        return Progress.from_row(row) if row else Progress.zero(self.total_tasks)


@strawberry.type(description="A course: an ordered tree of sections, themes and tasks.")
class Course(Node):
    db_id: strawberry.Private[uuid.UUID]
    key: str = strawberry.field(description="Stable external key from the content file.")
    title: str = strawberry.field(description="Title shown to the learner.")
    description: str = strawberry.field(description="What the course is about.")
    total_tasks: int = strawberry.field(description="Active tasks in this course.")

    @classmethod
    def from_row(cls, row: Any) -> "Course":
        return cls(
            id=strawberry.ID(to_global_id("Course", row.id)),
            db_id=row.id,
            key=row.key,
            title=row.title,
            description=row.description,
            total_tasks=row.total_tasks_cached,
        )

    @strawberry.field(description="The course's sections in display order.")
    async def sections(self, info: Info) -> list[Section]:
        rows = await info.context.loaders.sections_by_course.load(self.db_id)
        return [Section.from_row(row) for row in rows]

    @strawberry.field(description="The viewer's progress in this course; needs a bearer token.")
    async def progress(self, info: Info) -> Progress | None:
        key = (info.context.user_id, self.db_id)
        row = await info.context.loaders.course_progress.load(key)
        return Progress.from_row(row) if row else Progress.zero(self.total_tasks)


NODE_TYPES: dict[str, Annotated[Any, "type with from_row"]] = {
    "Course": Course,
    "Section": Section,
    "Theme": Theme,
    "Task": Task,
}
