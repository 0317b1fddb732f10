"""The authenticated learner and their own records."""

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import strawberry

from db import badge_queries, keyset, learner_queries
from domain import users
from gql import paging
from gql.badges.types import Award
from gql.content.types import Info, Node
from gql.errors import BadUserInput
from gql.ids import parse_id, to_global_id
from gql.learning.types import Attempt, DailyActivity, Enrollment, Streak
from gql.paging import After, Before, Connection, First, Last
from gql.queue import preview as queue_preview
from gql.queue.types import QueueEntry

MAX_ACTIVITY_DAYS = 400


@strawberry.type(description="The authenticated learner.")
class Viewer(Node):
    db_id: strawberry.Private[uuid.UUID]
    user_id: uuid.UUID = strawberry.field(description="The learner's user id (the token's sub).")
    handle: str | None = strawberry.field(description="Display handle, if set.")
    timezone: str = strawberry.field(description="IANA time zone that decides local days.")
    created_at: datetime = strawberry.field(description="When we first saw this learner.")

    @classmethod
    def from_user(cls, user: users.User) -> "Viewer":
        return cls(
            db_id=user.id,
            id=strawberry.ID(to_global_id("Viewer", user.id)),
            user_id=user.id,
            handle=user.handle,
            timezone=user.timezone,
            created_at=user.created_at,
        )

    @strawberry.field(description="Courses the learner follows, oldest enrollment first.")
    async def enrollments(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Enrollment]:
        page = paging.page_of(first, after, last, before, datetime.fromisoformat, uuid.UUID)
        rows = await info.context.loaders.enrollments_by_user.load(self.db_id)
        read = keyset.window(rows, page, _enrollment_key, descending=False)
        return paging.connection(page, read, _enrollment_key, Enrollment.from_row)

    @strawberry.field(description="The learner's streak of days with a solved task.")
    async def streak(self, info: Info) -> Streak:
        now = info.context.now_for_local_day()
        row = await info.context.database.read(
            learner_queries.get_streak_and_timezone, self.db_id, now
        )
        return Streak.from_row(row, now, info.context.settings.streak_day_start_hour)

    @strawberry.field(
        description="Per-day counts between two local days, for a calendar: the days with"
        " attempts or covered by a streak freeze."
    )
    async def activity(
        self,
        info: Info,
        from_: Annotated[
            date, strawberry.argument(name="from", description="First local day, inclusive.")
        ],
        to: Annotated[date, strawberry.argument(description="Last local day, inclusive.")],
    ) -> list[DailyActivity]:
        if not timedelta(0) <= to - from_ <= timedelta(days=MAX_ACTIVITY_DAYS):
            raise BadUserInput(f"'to' must be 0 to {MAX_ACTIVITY_DAYS} days after 'from'")
        rows = await info.context.database.read(
            learner_queries.list_daily_activity, self.db_id, from_, to
        )
        return [DailyActivity.from_row(row) for row in rows]

    @strawberry.field(description="The learner's attempts, newest first.")
    async def attempts(
        self,
        info: Info,
        task_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this task's attempts.")
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Attempt]:
        page = paging.page_of(first, after, last, before, datetime.fromisoformat, uuid.UUID)
        rows = await info.context.database.read(
            learner_queries.list_attempts,
            self.db_id,
            task_id=parse_id(task_id, "Task") if task_id else None,
            page=page,
        )
        return paging.connection(
            page, rows, _attempt_key, lambda row: Attempt.from_row(row, self.db_id)
        )

    @strawberry.field(
        description="What the queue would serve the viewer next in a course, in serving order; "
        "reserves nothing. Null for an unknown course; empty while the viewer has paused it."
    )
    async def queue(
        self,
        info: Info,
        course_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global id of the course.")
        ],
        first: Annotated[int, strawberry.argument(description="How many entries, 1 to 50.")] = 10,
    ) -> list[QueueEntry] | None:
        return await queue_preview.preview_queue(info, self.db_id, course_id, first)

    @strawberry.field(description="Badges the learner holds, newest first.")
    async def badges(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Award]:
        page = paging.page_of(first, after, last, before, datetime.fromisoformat, uuid.UUID, str)
        rows = await info.context.database.read(badge_queries.list_user_awards, self.db_id, page)
        return paging.connection(page, rows, _award_key, Award.from_row)


def _enrollment_key(row: Any) -> tuple[Any, ...]:
    return (row.started_at, row.course_id)


def _attempt_key(row: Any) -> tuple[Any, ...]:
    return (row.occurred_at, row.id)


def _award_key(row: Any) -> tuple[Any, ...]:
    return (row.awarded_at, row.badge_id, row.context_key)


@strawberry.type
class ViewerQuery:
    @strawberry.field(
        description="The authenticated learner; null without a bearer token (content is still "
        "served). A token that is present but invalid is an UNAUTHENTICATED error here."
    )
    async def viewer(self, info: Info) -> Viewer | None:
        if info.context.identity is None and info.context.auth_problem is None:
            return None
        return await authenticated_viewer(info)


async def authenticated_viewer(info: Info) -> Viewer:
    """The caller as a Viewer (created on first sight); UNAUTHENTICATED without a token."""
    user_id = info.context.user_id
    async with info.context.database.transaction() as conn:
        user = await users.ensure_user(conn, user_id=user_id)
    return Viewer.from_user(user)
