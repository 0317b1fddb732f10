"""What an answer can depend on besides the request itself: the data's versions and the day.

Triggers (migration 0008) move the content version on every content change and a learner's
version on every change of their own rows, in the changing transaction. Read BEFORE the
data, these give a validator that can be older than the answer it labels, never newer: at
worst one needless full answer, never a stale "not modified".
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from db import version_queries
from domain import streaks


@dataclass(frozen=True, slots=True)
class DataVersion:
    content: int | None
    learner: int | None  # None: anonymous, or a learner not seen yet
    local_day: date | None  # the learner's calendar day at ``read_at``; None when anonymous
    read_at: datetime  # UTC


async def get_data_version(
    conn: AsyncConnection, *, user_id: uuid.UUID | None, now: datetime, day_start_hour: int = 0
) -> DataVersion:
    """The versions ``user_id``'s answers depend on now, and their local day (one statement):
    the day streaks count, in the zone in effect now, starting at the day-start hour."""
    row = await version_queries.get_versions(conn, user_id, now)
    local_day = None
    if user_id is not None:
        local_day = streaks.local_day(now, row.timezone or "UTC", row.floor_day, day_start_hour)
    return DataVersion(
        content=row.content_version, learner=row.user_version, local_day=local_day, read_at=now
    )
