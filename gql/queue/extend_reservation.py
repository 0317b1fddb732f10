"""extendReservation: keep a reservation longer (a heartbeat for long tasks)."""

import uuid
from enum import Enum
from typing import Annotated

import strawberry

from domain import reservations
from domain.errors import QueueRequestRejected
from gql.content.types import Info
from gql.queue.types import Reservation


@strawberry.enum(description="Why a reservation was not extended.")
class ExtendReservationErrorCode(Enum):
    LEASE_EXPIRED = strawberry.enum_value(
        "LEASE_EXPIRED", description="The reservation expired or went to another holder."
    )
    INVALID_VISIBILITY = strawberry.enum_value(
        "INVALID_VISIBILITY", description="`seconds` is not 10 s to 12 h."
    )
    TASK_INACTIVE = strawberry.enum_value(
        "TASK_INACTIVE", description="The task was deactivated since."
    )


@strawberry.type(description="The reservation was not extended; nothing changed.")
class ExtendReservationError:
    code: ExtendReservationErrorCode = strawberry.field(description="What was wrong.")
    message: str = strawberry.field(description="Human-readable explanation.")


@strawberry.type(description="The reservation with its new expiry.")
class ExtendReservationSuccess:
    reservation: Reservation = strawberry.field(description="The extended reservation.")


ExtendReservationPayload = Annotated[
    ExtendReservationSuccess | ExtendReservationError,
    strawberry.union("ExtendReservationPayload", description="Result of an extension."),
]


@strawberry.type
class ExtendReservationMutation:
    @strawberry.mutation(
        description="Make a live reservation last until now + `seconds`; an expired or "
        "superseded lease is refused with LEASE_EXPIRED."
    )
    async def extend_reservation(
        self,
        info: Info,
        lease_token: Annotated[
            uuid.UUID, strawberry.argument(description="The reservation's lease token.")
        ],
        seconds: Annotated[
            int, strawberry.argument(description="New visibility from now, 10 s to 12 h.")
        ],
    ) -> ExtendReservationPayload:
        user_id = info.context.user_id
        try:
            async with info.context.database.transaction() as conn:
                reservation = await reservations.extend_reservation(
                    conn,
                    user_id=user_id,
                    lease_token=lease_token,
                    seconds=seconds,
                    now=info.context.now(),
                )
        except QueueRequestRejected as error:
            return ExtendReservationError(
                code=ExtendReservationErrorCode(error.code), message=error.message
            )
        return ExtendReservationSuccess(reservation=Reservation.from_reservation(reservation))
