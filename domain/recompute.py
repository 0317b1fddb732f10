"""Recompute: rebuild or check every derived per-user table from the attempts alone.

The invariant behind incremental updates: after any interleaving of submissions, the
derived tables equal this recompute. ``check`` reports any row that differs.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from db import recompute_queries as q


@dataclass(frozen=True, slots=True)
class Drift:
    table: str
    side: str  # "missing or wrong": the expected row is not live; "unexpected": the reverse
    row: dict[str, Any]

    def describe(self) -> str:
        values = ", ".join(f"{k}={v}" for k, v in self.row.items())
        return f"{self.table}: {self.side}: {values}"


async def list_users(conn: AsyncConnection) -> list[uuid.UUID]:
    """Every user with attempts or derived state."""
    return await q.users_with_attempts(conn)


async def check_users(conn: AsyncConnection, *, user_ids: Sequence[uuid.UUID]) -> list[Drift]:
    """The rows where the live derived tables differ from a recompute (writes nothing)."""
    await q.build_expected(conn, user_ids)
    rows = await q.drift(conn, user_ids)
    found = [
        Drift(
            table=row.pop("table"),
            side=row.pop("side"),
            row=row,
        )
        for row in rows
    ]
    return found + await _enrollment_drift(conn, user_ids)


async def _enrollment_drift(conn: AsyncConnection, user_ids: Sequence[uuid.UUID]) -> list[Drift]:
    # Enrollments are not rebuilt from the attempts (the learner starts them): checked
    # against the completion policy and the recomputed progress instead.
    return [
        Drift(table="user_course_enrollment", side=row.pop("problem"), row=row)
        for row in await q.enrollment_drift(conn, user_ids)
    ]


async def rebuild_users(conn: AsyncConnection, *, user_ids: Sequence[uuid.UUID]) -> None:
    """Replace the users' derived rows by the recompute, holding their attempt locks."""
    await q.lock_users(conn, user_ids)
    await q.build_expected(conn, user_ids)
    await q.replace_live(conn, user_ids)
    await q.repair_enrollments(conn, user_ids)
