"""The queue's mutations, merged into the schema's Mutation type."""

import strawberry

from gql.queue.extend_reservation import ExtendReservationMutation
from gql.queue.release_reservation import ReleaseReservationMutation
from gql.queue.reserve_tasks import ReserveTasksMutation


@strawberry.type
class QueueMutation(ReserveTasksMutation, ExtendReservationMutation, ReleaseReservationMutation):
    pass
