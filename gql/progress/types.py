"""The viewer's progress on content nodes."""

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from gql.fast_execution import share


@strawberry.type(description="Progress through a course or section: solved out of active tasks.")
class Progress:
    solved_tasks: int = strawberry.field(description="Distinct active tasks solved.")
    total_tasks: int = strawberry.field(description="Active tasks in this course or section.")
    percent_complete: float = strawberry.field(description="solvedTasks / totalTasks × 100.")
    attempts_count: int = strawberry.field(description="Attempts recorded here.")
    total_time_ms: float = strawberry.field(
        description="Time spent on all attempts here, in milliseconds."
    )
    average_time_ms: int = strawberry.field(
        description="Average time per attempt here, in milliseconds."
    )
    updated_at: datetime | None = strawberry.field(
        description="When this progress last changed; null before the first attempt."
    )

    @classmethod
    def from_row(cls, row: Any) -> "Progress":
        return cls(
            solved_tasks=row.solved_tasks,
            total_tasks=row.total_tasks,
            percent_complete=float(row.percent_complete),
            attempts_count=row.attempts_count,
            total_time_ms=float(row.total_time_ms),
            average_time_ms=row.average_time_ms,
            updated_at=row.updated_at,
        )

    @classmethod
    def zero(cls, total_tasks: int) -> "Progress":
        return cls(
            solved_tasks=0,
            total_tasks=total_tasks,
            percent_complete=0.0,
            attempts_count=0,
            total_time_ms=0.0,
            average_time_ms=0,
            updated_at=None,
        )


@strawberry.type(description="Progress through a theme: solved out of active tasks.")
class ThemeProgress:
    solved_tasks: int = strawberry.field(description="Distinct active tasks solved.")
    total_tasks: int = strawberry.field(description="Active tasks in this theme.")

    @classmethod
    def from_row(cls, row: Any) -> "ThemeProgress":
        return cls(solved_tasks=row.solved_tasks, total_tasks=row.total_tasks)


@strawberry.enum(description="Where a learner stands on a task.")
class TaskStatus(Enum):
    NEW = strawberry.enum_value("new", description="Never attempted.")
    IN_PROGRESS = strawberry.enum_value("in_progress", description="Attempted, not solved yet.")
    SOLVED = strawberry.enum_value("solved", description="Solved at least once.")


@strawberry.type(description="The viewer's state on one task.")
class TaskState:
    status: TaskStatus = strawberry.field(description="New, in progress or solved.")
    success_count: int = strawberry.field(description="Attempts that solved the task.")
    failure_count: int = strawberry.field(description="Attempts that did not solve it.")
    total_tries: int = strawberry.field(description="Tries over all attempts.")
    total_time_ms: float = strawberry.field(description="Time over all attempts, in ms.")
    average_time_ms: int = strawberry.field(description="Average time per attempt, in ms.")
    first_attempt_at: datetime | None = strawberry.field(description="When first attempted.")
    last_attempt_at: datetime | None = strawberry.field(description="When last attempted.")
    solved_at: datetime | None = strawberry.field(description="When first solved.")

    @classmethod
    def from_row(cls, row: Any) -> "TaskState":
        return cls(
            status=TASK_STATUSES[row.status],
            success_count=row.success_count,
            failure_count=row.failure_count,
            total_tries=row.total_tries,
            total_time_ms=float(row.total_time_ms),
            average_time_ms=row.average_time_ms,
            first_attempt_at=row.first_attempt_at,
            last_attempt_at=row.last_attempt_at,
            solved_at=row.solved_at,
        )


TASK_STATUSES = {status.value: status for status in TaskStatus}
# The state of every task a learner never tried: one object, shared by all requests.
NEW_TASK_STATE = share(
    TaskState(
        status=TaskStatus.NEW,
        success_count=0,
        failure_count=0,
        total_tries=0,
        total_time_ms=0.0,
        average_time_ms=0,
        first_attempt_at=None,
        last_attempt_at=None,
        solved_at=None,
    )
)
