"""releaseReservation: give a reserved task back before its reservation lapses."""

import uuid
from enum import Enum
from typing import Annotated

import strawberry

from domain import reservations
from domain.errors import QueueRequestRejected
from gql.content.types import Info
from gql.queue.types import QueueEntry


@strawberry.enum(description="Why a reservation was not released.")
class ReleaseReservationErrorCode(Enum):
    LEASE_EXPIRED = strawberry.enum_value(
        "LEASE_EXPIRED", description="The reservation expired or went to another holder."
    )


@strawberry.type(description="Nothing was released; nothing changed.")
class ReleaseReservationError:
    code: ReleaseReservationErrorCode = strawberry.field(description="What was wrong.")
    message: str = strawberry.field(description="Human-readable explanation.")


@strawberry.type(description="The task is back in the queue and reservable at once.")
class ReleaseReservationSuccess:
    entry: QueueEntry = strawberry.field(description="The task's queue entry after release.")


ReleaseReservationPayload = Annotated[
    ReleaseReservationSuccess | ReleaseReservationError,
    strawberry.union("ReleaseReservationPayload", description="Result of a release."),
]


@strawberry.type
class ReleaseReservationMutation:
    @strawberry.mutation(
        description="Give a live reservation back; its token is void afterwards. An expired "
        "or superseded lease is refused with LEASE_EXPIRED."
    )
    async def release_reservation(
        self,
        info: Info,
        lease_token: Annotated[
            uuid.UUID, strawberry.argument(description="The reservation's lease token.")
        ],
    ) -> ReleaseReservationPayload:
        user_id = info.context.user_id
        try:
            async with info.context.database.transaction() as conn:
                entry = await reservations.release_reservation(
                    conn, user_id=user_id, lease_token=lease_token, now=info.context.now()
                )
        except QueueRequestRejected as error:
            return ReleaseReservationError(
                code=ReleaseReservationErrorCode(error.code), message=error.message
            )
        return ReleaseReservationSuccess(entry=QueueEntry.from_entry(entry))
