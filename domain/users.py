"""Users: created on first sight from an authenticated request."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from zoneinfo import available_timezones

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import streaks
from domain.errors import InvalidHandle, InvalidTimezone

MAX_HANDLE_LENGTH = 40


@dataclass(frozen=True, slots=True)
class User:
    id: uuid.UUID
    handle: str | None
    timezone: str
    created_at: datetime


async def ensure_user(conn: AsyncConnection, *, user_id: uuid.UUID) -> User:
    """The user with ``user_id``, created (timezone UTC) if this is the first time we see them."""
    await conn.execute(
        text("INSERT INTO users (id) VALUES (:id) ON CONFLICT (id) DO NOTHING"), {"id": user_id}
    )
    row = (
        await conn.execute(
            text("SELECT id, handle, timezone, created_at FROM users WHERE id = :id"),
            {"id": user_id},
        )
    ).one()
    return User(id=row.id, handle=row.handle, timezone=row.timezone, created_at=row.created_at)


def validate_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone (e.g. 'Europe/Berlin'); InvalidTimezone otherwise."""
    # Looked up in the list of zones, never handed to ZoneInfo: a client's string would
    # become a file path (too long, NUL bytes, '..'), and the OSError would carry it into
    # the log. The message does not repeat the value either.
    if name not in _timezones():
        raise InvalidTimezone("not an IANA time zone name, such as 'Europe/Berlin'")
    return name


# Files a system's zone directory may hold that name no IANA zone; PostgreSQL, which
# computes local days, does not know them.
NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones()) - NOT_ZONES


def validate_handle(handle: str) -> str:
    """``handle`` stripped, if it is 1–40 printable characters; InvalidHandle otherwise."""
    cleaned = handle.strip()
    if not 1 <= len(cleaned) <= MAX_HANDLE_LENGTH or not cleaned.isprintable():
        raise InvalidHandle(f"a handle must be 1 to {MAX_HANDLE_LENGTH} printable characters")
    return cleaned


async def update_user(
    conn: AsyncConnection,
    *,
    user_id: uuid.UUID,
    timezone: str | None = None,
    handle: str | None = None,
    now: datetime | None = None,
    day_start_hour: int = 0,
) -> User:
    """Change the user's time zone and/or handle; validates both before writing anything.

    A learner with attempts keeps their local days: the new zone takes effect when the next
    local day starts in the zone in use at ``now`` (see ``_record_timezone_change``)."""
    if timezone is not None:
        timezone = validate_timezone(timezone)
    if handle is not None:
        handle = validate_handle(handle)
    await ensure_user(conn, user_id=user_id)
    if timezone is not None:
        await _record_timezone_change(
            conn, user_id, timezone, now or datetime.now(UTC), day_start_hour
        )
    row = (
        await conn.execute(
            text(
                "UPDATE users SET timezone = coalesce(:tz, timezone),"
                " handle = coalesce(:handle, handle) WHERE id = :id"
                " RETURNING id, handle, timezone, created_at"
            ),
            {"id": user_id, "tz": timezone, "handle": handle},
        )
    ).one()
    return User(id=row.id, handle=row.handle, timezone=row.timezone, created_at=row.created_at)


async def _record_timezone_change(
    conn: AsyncConnection, user_id: uuid.UUID, timezone: str, now: datetime, day_start_hour: int
) -> None:
    """Keep the learner's time-zone history so that no local day is counted twice.

    With no attempt yet there is nothing to keep: the zone applies to every attempt (no
    history; ``users.timezone`` holds). Otherwise the change takes effect at the start of
    the next local day in the zone in use now, and an attempt after that is never given a
    day before today's (the floor): the zone in use until then, from the beginning of time
    if it is the first change, becomes a history row. A change not yet in effect is
    replaced by a later one.
    """
    # The same lock as the attempt path: an attempt reads the history after taking it.
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(CAST(CAST(:id AS uuid) AS text), 0))"),
        {"id": user_id},
    )
    row = (
        await conn.execute(
            text(
                "SELECT u.timezone, EXISTS (SELECT 1 FROM user_task_attempt a"
                " WHERE a.user_id = u.id) AS has_attempts,"
                " EXISTS (SELECT 1 FROM user_timezone_history h WHERE h.user_id = u.id)"
                " AS has_history, zn.timezone AS zone, zn.floor_day"
                " FROM users u LEFT JOIN LATERAL (SELECT h.timezone, h.floor_day"
                " FROM user_timezone_history h WHERE h.user_id = u.id"
                " AND h.effective_from <= :now ORDER BY h.effective_from DESC LIMIT 1) zn"
                " ON true WHERE u.id = :id"
            ),
            {"id": user_id, "now": now},
        )
    ).one()
    if not row.has_attempts:
        await conn.execute(
            text("DELETE FROM user_timezone_history WHERE user_id = :id"), {"id": user_id}
        )
        return
    in_use = row.zone or row.timezone
    await conn.execute(
        text("DELETE FROM user_timezone_history WHERE user_id = :id AND effective_from > :now"),
        {"id": user_id, "now": now},
    )
    if timezone == in_use:
        return
    if not row.has_history:
        await conn.execute(
            text(
                "INSERT INTO user_timezone_history (user_id, effective_from, timezone)"
                " VALUES (:id, '-infinity', :tz)"
            ),
            {"id": user_id, "tz": in_use},
        )
    await conn.execute(
        text(
            "INSERT INTO user_timezone_history (user_id, effective_from, timezone, floor_day)"
            " VALUES (:id, :at, :tz, :floor)"
        ),
        {
            "id": user_id,
            "at": streaks.next_day_start(now, in_use, day_start_hour),
            "tz": timezone,
            "floor": streaks.local_day(now, in_use, row.floor_day, day_start_hour),
        },
    )
