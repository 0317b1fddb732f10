"""The per-user task queue (DESIGN §4): reservations, retries and reviews."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection


async def settle_attempt(
    conn: AsyncConnection,
    *,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    course_id: uuid.UUID,
    solved: bool,
    failure_count: int,
    lease_token: uuid.UUID | None,
    now: datetime,
) -> str | None:
    """Fold an attempt into the queue; returns an error code when the lease no longer held."""
    return None
