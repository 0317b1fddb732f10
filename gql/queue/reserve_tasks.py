"""reserveTasks: hand the viewer the next tasks of a course, each under a lease."""

import uuid
from enum import Enum
from typing import Annotated

import strawberry

from domain import reservations
from domain.errors import QueueRequestRejected
from gql.content.types import Info
from gql.ids import find_id
from gql.queue.types import Reservation


@strawberry.enum(description="Why nothing was reserved.")
class ReserveTasksErrorCode(Enum):
    COURSE_NOT_FOUND = strawberry.enum_value(
        "COURSE_NOT_FOUND", description="There is no course with that id."
    )
    COURSE_PAUSED = strawberry.enum_value(
        "COURSE_PAUSED",
        description="The viewer paused the course: nothing is served until `resumeCourse`.",
    )
    SECTION_NOT_FOUND = strawberry.enum_value(
        "SECTION_NOT_FOUND", description="There is no such section in the course."
    )
    THEME_NOT_FOUND = strawberry.enum_value(
        "THEME_NOT_FOUND", description="There is no such theme in the course."
    )
    NO_ACTIVE_TASKS = strawberry.enum_value(
        "NO_ACTIVE_TASKS", description="The course (or scope) has no active task."
    )
    INVALID_LIMIT = strawberry.enum_value("INVALID_LIMIT", description="`limit` is not 1 to 50.")
    INVALID_VISIBILITY = strawberry.enum_value(
        "INVALID_VISIBILITY", description="`visibilitySeconds` is not 10 s to 12 h."
    )


@strawberry.type(description="Nothing was reserved.")
class ReserveTasksError:
    code: ReserveTasksErrorCode = strawberry.field(description="What was wrong.")
    message: str = strawberry.field(description="Human-readable explanation.")


@strawberry.type(description="The tasks reserved, in serving order (empty: nothing is due).")
class ReserveTasksSuccess:
    reservations: list[Reservation] = strawberry.field(description="The reservations made.")


ReserveTasksPayload = Annotated[
    ReserveTasksSuccess | ReserveTasksError,
    strawberry.union("ReserveTasksPayload", description="Result of a reservation request."),
]


def _scope_id(global_id: strawberry.ID, type_name: str) -> uuid.UUID:
    """The id of the course, section or theme to serve from; its *_NOT_FOUND (in the
    payload) for a malformed id."""
    found = find_id(global_id, type_name)
    if found is None:
        raise QueueRequestRejected(
            f"{type_name.upper()}_NOT_FOUND", f"there is no such {type_name.lower()}"
        )
    return found


@strawberry.type
class ReserveTasksMutation:
    @strawberry.mutation(
        description="Reserve the viewer's next tasks of a course: due retries first, then due "
        "reviews, then new tasks in course order. Never waits for other reservers; concurrent "
        "callers get disjoint tasks."
    )
    async def reserve_tasks(
        self,
        info: Info,
        course_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global id of the course.")
        ],
        limit: Annotated[int, strawberry.argument(description="How many tasks, 1 to 50.")] = 10,
        section_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only tasks of this section (then expired retries are served too)."
            ),
        ] = None,
        theme_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only tasks of this theme (then expired retries are served too)."
            ),
        ] = None,
        same_theme: Annotated[
            bool,
            strawberry.argument(description="Take every task from the theme of the first pick."),
        ] = False,
        visibility_seconds: Annotated[
            int,
            strawberry.argument(description="How long the reservations last, 10 s to 12 h."),
        ] = reservations.DEFAULT_VISIBILITY_SECONDS,
    ) -> ReserveTasksPayload:
        user_id = info.context.user_id
        try:
            course = _scope_id(course_id, "Course")
            section = _scope_id(section_id, "Section") if section_id is not None else None
            theme = _scope_id(theme_id, "Theme") if theme_id is not None else None
            async with info.context.database.transaction() as conn:
                reserved = await reservations.reserve_tasks(
                    conn,
                    user_id=user_id,
                    course_id=course,
                    limit=limit,
                    section_id=section,
                    theme_id=theme,
                    same_theme=same_theme,
                    visibility_seconds=visibility_seconds,
                    now=info.context.now(),
                )
        except QueueRequestRejected as error:
            return ReserveTasksError(code=ReserveTasksErrorCode(error.code), message=error.message)
        return ReserveTasksSuccess(reservations=[Reservation.from_reservation(r) for r in reserved])
