"""The authenticated learner."""

from datetime import datetime

import strawberry

from domain import users
from gql.content.types import Info


@strawberry.type(description="The authenticated learner.")
class Viewer:
    id: strawberry.ID = strawberry.field(description="The learner's user id (the token's sub).")
    handle: str | None = strawberry.field(description="Display handle, if set.")
    timezone: str = strawberry.field(description="IANA time zone that decides local days.")
    created_at: datetime = strawberry.field(description="When we first saw this learner.")

    @classmethod
    def from_user(cls, user: users.User) -> "Viewer":
        return cls(
            id=strawberry.ID(str(user.id)),
            handle=user.handle,
            timezone=user.timezone,
            created_at=user.created_at,
        )


@strawberry.type
class ViewerQuery:
    @strawberry.field(description="The authenticated learner; needs a bearer token.")
    async def viewer(self, info: Info) -> Viewer:
        user_id = info.context.user_id
        async with info.context.database.transaction() as conn:
            user = await users.ensure_user(conn, user_id=user_id)
        return Viewer.from_user(user)
