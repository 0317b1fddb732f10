"""Users: created on first sight from an authenticated request."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from zoneinfo import available_timezones

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

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
) -> User:
    """Change the user's time zone and/or handle; validates both before writing anything."""
    if timezone is not None:
        timezone = validate_timezone(timezone)
    if handle is not None:
        handle = validate_handle(handle)
    await ensure_user(conn, user_id=user_id)
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
