"""A learner's records: attempts, enrollments, streak and daily activity."""

import uuid
from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from domain import streaks
from gql.content.types import Course, Grading, Info, Node, Task
from gql.ids import to_global_id, to_global_key


@strawberry.enum(description="Where an attempt was made.")
class AttemptSource(Enum):
    WEB = strawberry.enum_value("web", description="A web browser.")
    MOBILE = strawberry.enum_value("mobile", description="A mobile app.")
    API = strawberry.enum_value("api", description="Another server, through the API.")


@strawberry.type(description="One recorded attempt at a task (an immutable fact).")
class Attempt(Node):
    client_id: uuid.UUID = strawberry.field(
        description="The id the client generated and submitted it with (its idempotency key)."
    )
    task_db_id: strawberry.Private[uuid.UUID]
    user_db_id: strawberry.Private[uuid.UUID]
    task_id: strawberry.ID = strawberry.field(description="Global id of the task.")
    tries: int = strawberry.field(description="Tries within this attempt.")
    time_spent_ms: int = strawberry.field(description="Time spent, in milliseconds.")
    solved: bool = strawberry.field(description="Whether the attempt solved the task.")
    source: AttemptSource = strawberry.field(description="Where the attempt was made.")
    occurred_at: datetime = strawberry.field(description="When it happened (client clock).")
    local_day: date = strawberry.field(description="The learner's local day it counts for.")
    created_at: datetime = strawberry.field(description="When the server recorded it.")
    graded_by: Grading = strawberry.field(
        description="Who decided `solved`: the server from the answer, or the client."
    )

    @classmethod
    def from_row(cls, row: Any, user_id: uuid.UUID) -> "Attempt":
        return cls(
            id=strawberry.ID(to_global_key("Attempt", user_id, row.id)),
            client_id=row.id,
            user_db_id=user_id,
            task_db_id=row.task_id,
            task_id=strawberry.ID(to_global_id("Task", row.task_id)),
            tries=row.tries,
            time_spent_ms=row.time_spent_ms,
            solved=row.solved,
            source=AttemptSource(row.source),
            occurred_at=row.occurred_at,
            local_day=row.local_day,
            created_at=row.created_at,
            graded_by=Grading(row.graded_by),
        )

    @strawberry.field(description="The answer the learner sent with it, as stored.")
    async def answer(self, info: Info) -> JSON | None:
        row = await info.context.loaders.attempt_by_user_id.load((self.user_db_id, self.client_id))
        stored: JSON | None = row.answer if row else None
        return stored

    @strawberry.field(description="The payload the client sent with it, as stored.")
    async def payload(self, info: Info) -> JSON | None:
        row = await info.context.loaders.attempt_by_user_id.load((self.user_db_id, self.client_id))
        stored: JSON | None = row.payload if row else None
        return stored

    @strawberry.field(description="The task attempted; null if it was deleted.")
    async def task(self, info: Info) -> Task | None:
        row = await info.context.loaders.task_by_id.load(self.task_db_id)
        return Task.from_row(row) if row else None


@strawberry.type(
    description="Consecutive local days with a task solved (and received within the grace"
    " period), bridged by streak freezes."
)
class Streak:
    current: int = strawberry.field(
        description="Days in the streak still alive: last extended today or yesterday, or"
        " earlier with enough freezes held to cover the days missed since (0 if broken)."
    )
    longest: int = strawberry.field(description="The longest streak ever (the best).")
    last_active_day: date | None = strawberry.field(
        description="The last local day that counted for the streak."
    )
    freezes_held: int = strawberry.field(
        description="Streak freezes held now; one covers one missed day when the next solve"
        " arrives."
    )
    freezes_used: int = strawberry.field(description="Days a freeze covered, ever.")
    frozen_days: list[date] = strawberry.field(
        description="The missed local days freezes covered, oldest first."
    )

    @classmethod
    def from_streak(cls, streak: streaks.Streak, today: date) -> "Streak":
        return cls(
            current=streak.current_on(today),
            longest=streak.longest,
            last_active_day=streak.last_active_day,
            freezes_held=streak.freezes,
            freezes_used=len(streak.frozen_days),
            frozen_days=list(streak.frozen_days),
        )

    @classmethod
    def from_row(cls, row: Any, now: datetime, day_start_hour: int) -> "Streak":
        """From a stored streak row with the time zone and floor day in effect (nulls: no
        streak yet)."""
        today = streaks.local_day(now, row.timezone, row.floor_day, day_start_hour)
        return cls.from_streak(streaks.from_row(row), today)


@strawberry.type(description="What a learner did on one local day.")
class DailyActivity:
    day: date = strawberry.field(description="The local calendar day.")
    attempts: int = strawberry.field(description="Attempts that day.")
    solved: int = strawberry.field(description="Attempts that solved their task that day.")
    time_spent_ms: float = strawberry.field(description="Time spent that day, in ms.")
    frozen: bool = strawberry.field(
        description="A streak freeze covered this day (missed, yet the streak went on)."
    )

    @classmethod
    def from_row(cls, row: Any) -> "DailyActivity":
        return cls(
            day=row.day,
            attempts=row.attempts,
            solved=row.solved,
            time_spent_ms=float(row.time_spent_ms),
            frozen=row.frozen,
        )


@strawberry.enum(description="Where an enrollment stands.")
class EnrollmentStatus(Enum):
    ACTIVE = strawberry.enum_value("active", description="Being followed.")
    PAUSED = strawberry.enum_value("paused", description="Paused by the learner.")
    COMPLETED = strawberry.enum_value(
        "completed",
        description="Every active task solved (in a `sticky` course: once solved, for good).",
    )


@strawberry.type(description="A learner following a course.")
class Enrollment(Node):
    course_db_id: strawberry.Private[uuid.UUID]
    status: EnrollmentStatus = strawberry.field(description="Active, paused or completed.")
    started_at: datetime = strawberry.field(description="When the learner enrolled.")
    completed_at: datetime | None = strawberry.field(
        description="When every active task was solved. In a `live` course it is cleared when"
        " an added task leaves one unsolved; in a `sticky` course it stays."
    )

    @classmethod
    def from_row(cls, row: Any) -> "Enrollment":
        return cls(
            id=strawberry.ID(to_global_key("Enrollment", row.user_id, row.course_id)),
            course_db_id=row.course_id,
            status=EnrollmentStatus(row.status),
            started_at=row.started_at,
            completed_at=row.completed_at,
        )

    @strawberry.field(description="The course.")
    async def course(self, info: Info) -> Course | None:
        row = await info.context.loaders.course_by_id.load(self.course_db_id)
        return Course.from_row(row) if row else None
