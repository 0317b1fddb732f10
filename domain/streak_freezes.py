"""Streak freezes granted by an admin: stored as facts, folded into the learner's streak.

A grant counts from the learner's local day of the grant (domain/streaks.py: grants of a
day are added before that day's solve bridges a gap), up to the most a learner may hold.
"""

import uuid
from datetime import date, datetime

from db import attempt_queries as q
from db import raw
from domain import streaks
from domain.attempts import rebuild_streak
from domain.errors import StreakFreezeRejected

MAX_GRANT = 100
MAX_REASON_LENGTH = 500


async def grant_freezes(
    conn: raw.Connection,
    *,
    user_id: uuid.UUID,
    count: int,
    reason: str | None,
    now: datetime,
    policy: streaks.StreakPolicy,
) -> tuple[streaks.Streak, date]:
    """Grant ``count`` freezes to the learner now; returns their streak after it and their
    local day now."""
    if not 1 <= count <= MAX_GRANT:
        raise StreakFreezeRejected("INVALID_COUNT", f"count must be 1 to {MAX_GRANT}")
    if reason is not None and not _storable(reason):
        raise StreakFreezeRejected(
            "INVALID_REASON", f"a reason is at most {MAX_REASON_LENGTH} characters, no NUL"
        )
    await q.lock_user(conn, user_id)
    zone = await q.zone_in_effect(conn, user_id, now)
    if zone is None:
        raise StreakFreezeRejected("USER_NOT_FOUND", "there is no such learner")
    day = streaks.local_day(now, zone.timezone, zone.floor_day, policy.day_start_hour)
    await q.insert_freeze_grant(conn, user_id, granted_at=now, day=day, count=count, reason=reason)
    return await rebuild_streak(conn, user_id, policy), day


def _storable(reason: str) -> bool:
    """Short enough, and text PostgreSQL stores: no NUL, no lone surrogate."""
    if len(reason) > MAX_REASON_LENGTH or "\x00" in reason:
        return False
    try:
        reason.encode()
    except UnicodeEncodeError:
        return False
    return True
