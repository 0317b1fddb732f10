"""The task queue as clients see it: reservations and previewed entries."""

import uuid
from datetime import datetime
from enum import Enum

import strawberry

from domain import reservations
from gql.content.types import Info, Task
from gql.ids import to_global_id


@strawberry.enum(description="Why a task is served: a retry after a failure, a review, or new.")
class QueueReason(Enum):
    RETRY = strawberry.enum_value("retry", description="A retry after a failed attempt.")
    REVIEW = strawberry.enum_value("review", description="A spaced review of a solved task.")
    NEW = strawberry.enum_value("new", description="A task not attempted yet, in course order.")


@strawberry.type(description="A task reserved for the viewer until `expiresAt`.")
class Reservation:
    task_db_id: strawberry.Private[uuid.UUID]
    task_id: strawberry.ID = strawberry.field(description="Global id of the task.")
    lease_token: uuid.UUID = strawberry.field(
        description="Proves this reservation: pass it to submitAttempt, extendReservation "
        "or releaseReservation. Refused once the reservation expired or went to another holder."
    )
    expires_at: datetime = strawberry.field(
        description="When the reservation lapses and the task becomes reservable again."
    )
    reason: QueueReason = strawberry.field(description="Why this task was chosen.")
    deliveries: int = strawberry.field(
        description="How many times this queue entry was handed out, this time included."
    )
    due_at: datetime = strawberry.field(
        description="When the entry became due (for a new task: when it was first reserved)."
    )

    @classmethod
    def from_reservation(cls, reservation: reservations.Reservation) -> "Reservation":
        return cls(
            task_db_id=reservation.task_id,
            task_id=strawberry.ID(to_global_id("Task", reservation.task_id)),
            lease_token=reservation.lease_token,
            expires_at=reservation.expires_at,
            reason=QueueReason(reservation.reason),
            deliveries=reservation.deliveries,
            due_at=reservation.due_at,
        )

    @strawberry.field(description="The task; null if it was deleted since.")
    async def task(self, info: Info) -> Task | None:
        row = await info.context.loaders.task_by_id.load(self.task_db_id)
        return Task.from_row(row) if row else None


@strawberry.type(description="A task as the queue would serve it next (nothing is reserved).")
class QueueEntry:
    task_db_id: strawberry.Private[uuid.UUID]
    task_id: strawberry.ID = strawberry.field(description="Global id of the task.")
    reason: QueueReason = strawberry.field(description="Why this task would be chosen.")
    due_at: datetime | None = strawberry.field(
        description="When a retry or review became due; null for a new task."
    )
    deliveries: int = strawberry.field(
        description="How many times this queue entry was handed out before."
    )

    @classmethod
    def from_entry(cls, entry: reservations.QueueEntry) -> "QueueEntry":
        return cls(
            task_db_id=entry.task_id,
            task_id=strawberry.ID(to_global_id("Task", entry.task_id)),
            reason=QueueReason(entry.reason),
            due_at=entry.due_at,
            deliveries=entry.deliveries,
        )

    @strawberry.field(description="The task; null if it was deleted since.")
    async def task(self, info: Info) -> Task | None:
        row = await info.context.loaders.task_by_id.load(self.task_db_id)
        return Task.from_row(row) if row else None


@strawberry.enum(description="Why an attempt's lease token did not complete its reservation.")
class ReservationErrorCode(Enum):
    LEASE_EXPIRED = strawberry.enum_value(
        "LEASE_EXPIRED", description="The reservation expired or went to another holder."
    )
    LEASE_TASK_MISMATCH = strawberry.enum_value(
        "LEASE_TASK_MISMATCH", description="The lease token reserves another task."
    )
