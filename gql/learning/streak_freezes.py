"""grantStreakFreezes: an admin gives a learner streak freezes."""

import uuid
from enum import Enum
from typing import Annotated

import strawberry

from domain import streak_freezes
from domain.errors import StreakFreezeRejected
from gql.content.types import Info
from gql.learning.types import Streak


@strawberry.input(description="Streak freezes to give one learner.")
class GrantStreakFreezesInput:
    user_id: uuid.UUID = strawberry.field(description="The learner's user id (a token's sub).")
    count: int = strawberry.field(
        description="Freezes to grant, 1 to 100; the learner holds at most the server's maximum."
    )
    reason: str | None = strawberry.field(
        default=None, description="Why, kept with the grant (at most 500 characters)."
    )


@strawberry.enum(description="Why grantStreakFreezes refused the grant.")
class GrantStreakFreezesErrorCode(Enum):
    INVALID_COUNT = strawberry.enum_value("INVALID_COUNT", description="count is not 1 to 100.")
    INVALID_REASON = strawberry.enum_value(
        "INVALID_REASON", description="reason is too long or holds a NUL character."
    )
    USER_NOT_FOUND = strawberry.enum_value(
        "USER_NOT_FOUND", description="No learner with that user id."
    )


@strawberry.type(description="The grant was refused; nothing was written.")
class GrantStreakFreezesError:
    code: GrantStreakFreezesErrorCode = strawberry.field(description="What was wrong.")
    message: str = strawberry.field(description="Human-readable explanation.")


@strawberry.type(description="The freezes were granted.")
class GrantStreakFreezesSuccess:
    streak: Streak = strawberry.field(
        description="The learner's streak after the grant, on the learner's local day now."
    )


GrantStreakFreezesPayload = Annotated[
    GrantStreakFreezesSuccess | GrantStreakFreezesError,
    strawberry.union("GrantStreakFreezesPayload", description="Result of grantStreakFreezes."),
]


@strawberry.type
class StreakFreezeMutation:
    @strawberry.mutation(description="Give a learner streak freezes (admin only).")
    async def grant_streak_freezes(
        self,
        info: Info,
        input: Annotated[GrantStreakFreezesInput, strawberry.argument(description="The grant.")],
    ) -> GrantStreakFreezesPayload:
        info.context.require_admin()
        now = info.context.now()
        policy = info.context.settings.streak_policy
        try:
            async with info.context.database.transaction() as conn:
                streak, today = await streak_freezes.grant_freezes(
                    conn,
                    user_id=input.user_id,
                    count=input.count,
                    reason=input.reason,
                    now=now,
                    policy=policy,
                )
        except StreakFreezeRejected as exc:
            return GrantStreakFreezesError(
                code=GrantStreakFreezesErrorCode(exc.code), message=exc.message
            )
        return GrantStreakFreezesSuccess(streak=Streak.from_streak(streak, today))
