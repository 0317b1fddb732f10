"""Enrolling in a course, pausing and resuming it."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from db import enrollment_queries as q
from domain.errors import CourseNotFound, EnrollmentCompleted, NotEnrolled


@dataclass(frozen=True, slots=True)
class EnrollmentRecord:
    user_id: uuid.UUID
    course_id: uuid.UUID
    status: str
    started_at: datetime
    completed_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> "EnrollmentRecord":
        return cls(row.user_id, row.course_id, row.status, row.started_at, row.completed_at)


async def enroll(
    conn: AsyncConnection, *, user_id: uuid.UUID, course_id: uuid.UUID, now: datetime
) -> EnrollmentRecord:
    """Enroll the user (idempotent: an existing enrollment is returned as it is)."""
    if not await q.course_exists(conn, course_id):
        raise CourseNotFound("there is no such course")
    return EnrollmentRecord.from_row(await q.enroll(conn, user_id, course_id, now))


async def set_paused(
    conn: AsyncConnection, *, user_id: uuid.UUID, course_id: uuid.UUID, paused: bool
) -> EnrollmentRecord:
    """Pause or resume an enrollment; a completed course stays completed."""
    row = await q.get_for_update(conn, user_id, course_id)
    if row is None:
        raise NotEnrolled("the learner is not enrolled in this course")
    if row.status == "completed":
        raise EnrollmentCompleted("the course is already completed")
    status = "paused" if paused else "active"
    if row.status == status:
        return EnrollmentRecord.from_row(row)
    return EnrollmentRecord.from_row(await q.set_status(conn, user_id, course_id, status))
