"""Statements on user_course_enrollment."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from db.statements import statement

COLUMNS = "user_id, course_id, status, started_at, completed_at"


async def course_exists(conn: AsyncConnection, course_id: uuid.UUID) -> bool:
    result = await conn.execute(
        statement("SELECT 1 FROM course WHERE id = :id AND active"), {"id": course_id}
    )
    return result.one_or_none() is not None


async def enroll(
    conn: AsyncConnection, user_id: uuid.UUID, course_id: uuid.UUID, now: datetime
) -> Row[Any]:
    """The enrollment, created active if the user had none in this course."""
    await conn.execute(
        statement("INSERT INTO users (id) VALUES (:u) ON CONFLICT (id) DO NOTHING"), {"u": user_id}
    )
    await conn.execute(
        statement(
            "INSERT INTO user_course_enrollment (user_id, course_id, status, started_at)"
            " VALUES (:u, :c, 'active', :now) ON CONFLICT DO NOTHING"
        ),
        {"u": user_id, "c": course_id, "now": now},
    )
    return await get_for_update(conn, user_id, course_id)  # type: ignore[return-value]


async def get_for_update(
    conn: AsyncConnection, user_id: uuid.UUID, course_id: uuid.UUID
) -> Row[Any] | None:
    result = await conn.execute(
        statement(
            f"SELECT {COLUMNS} FROM user_course_enrollment"
            " WHERE user_id = :u AND course_id = :c FOR UPDATE"
        ),
        {"u": user_id, "c": course_id},
    )
    return result.one_or_none()


async def set_status(
    conn: AsyncConnection, user_id: uuid.UUID, course_id: uuid.UUID, status: str
) -> Row[Any]:
    result = await conn.execute(
        statement(
            "UPDATE user_course_enrollment SET status = :status"
            f" WHERE user_id = :u AND course_id = :c RETURNING {COLUMNS}"
        ),
        {"u": user_id, "c": course_id, "status": status},
    )
    return result.one()
