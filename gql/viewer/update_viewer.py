"""updateViewer: the learner changes their time zone or handle."""

from enum import Enum
from typing import Annotated

import strawberry

from domain import errors, users
from gql.content.types import Info
from gql.viewer.schema import Viewer


@strawberry.input(description="Fields to change; omitted fields stay as they are.")
class UpdateViewerInput:
    timezone: str | None = strawberry.field(
        default=None, description="IANA time zone name, e.g. 'Europe/Berlin'."
    )
    handle: str | None = strawberry.field(
        default=None, description="Display handle, 1 to 40 printable characters."
    )


@strawberry.enum(description="Why updateViewer refused the change.")
class UpdateViewerErrorCode(Enum):
    INVALID_TIMEZONE = strawberry.enum_value(
        "INVALID_TIMEZONE", description="Not an IANA time zone name."
    )
    INVALID_HANDLE = strawberry.enum_value(
        "INVALID_HANDLE", description="Not 1 to 40 printable characters."
    )


@strawberry.type(description="The change was refused; nothing was written.")
class UpdateViewerError:
    code: UpdateViewerErrorCode = strawberry.field(description="What was wrong.")
    message: str = strawberry.field(description="Human-readable explanation.")


@strawberry.type(description="The learner after the change.")
class UpdateViewerSuccess:
    viewer: Viewer = strawberry.field(description="The updated learner.")


UpdateViewerPayload = Annotated[
    UpdateViewerSuccess | UpdateViewerError,
    strawberry.union("UpdateViewerPayload", description="Result of updateViewer."),
]


@strawberry.type
class UpdateViewerMutation:
    @strawberry.mutation(description="Change the viewer's time zone or handle.")
    async def update_viewer(
        self,
        info: Info,
        input: Annotated[UpdateViewerInput, strawberry.argument(description="What to change.")],
    ) -> UpdateViewerPayload:
        user_id = info.context.user_id
        try:
            async with info.context.database.transaction() as conn:
                user = await users.update_user(
                    conn,
                    user_id=user_id,
                    timezone=input.timezone,
                    handle=input.handle,
                    now=info.context.now(),
                    day_start_hour=info.context.settings.streak_day_start_hour,
                )
        except (errors.InvalidTimezone, errors.InvalidHandle) as exc:
            return UpdateViewerError(code=UpdateViewerErrorCode(exc.code), message=exc.message)
        return UpdateViewerSuccess(viewer=Viewer.from_user(user))
