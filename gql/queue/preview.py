"""viewer.queue: what the queue would serve next, without reserving anything."""

import uuid

import strawberry

from domain import reservations
from domain.errors import QueueRequestRejected
from gql.content.types import Info
from gql.errors import BadUserInput
from gql.ids import parse_id
from gql.queue.types import QueueEntry


async def preview_queue(
    info: Info, user_id: uuid.UUID, course_id: strawberry.ID, first: int
) -> list[QueueEntry] | None:
    """The next ``first`` entries of the viewer's queue in a course; None for no such course."""
    course = parse_id(course_id, "Course")
    try:
        entries = await info.context.database.read(
            reservations.preview_queue,
            user_id=user_id,
            course_id=course,
            limit=first,
            now=info.context.now(),
        )
    except QueueRequestRejected as error:
        raise BadUserInput(f"'first' must be 1 to {reservations.MAX_LIMIT}") from error
    return None if entries is None else [QueueEntry.from_entry(e) for e in entries]
