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
from domain import streaks


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


async def _build_expected(
    conn: AsyncConnection, user_ids: Sequence[uuid.UUID], policy: streaks.StreakPolicy
) -> None:
    await q.build_expected(conn, user_ids, grace_seconds=policy.grace.total_seconds())
    await _build_expected_streaks(conn, user_ids, policy)


async def _build_expected_streaks(
    conn: AsyncConnection, user_ids: Sequence[uuid.UUID], policy: streaks.StreakPolicy
) -> None:
    """The streaks and freezes, folded from the expected streak days and the grants by the
    same function the attempt path advances (domain/streaks.py)."""
    rows = []
    for found in await q.streak_inputs(conn, user_ids):
        grants = list(zip(found.grant_days, found.grant_counts, strict=True))
        streak = streaks.fold(found.days, grants, policy)
        rows.append(
            {
                "user_id": found.user_id,
                "current": streak.run,
                "longest": streak.longest,
                "last_active_day": streak.last_active_day,
                "freezes": streak.freezes,
                "frozen_days": list(streak.frozen_days),
                "last_grant_day": max(found.grant_days, default=None),
            }
        )
    await q.fill_expected_streak(conn, rows)


async def _local_day_drift(
    conn: AsyncConnection, user_ids: Sequence[uuid.UUID], policy: streaks.StreakPolicy
) -> list[Drift]:
    """Attempts counted on another local day than the time-zone history gives them."""
    rows = await q.local_day_drift(conn, user_ids, day_start_hour=policy.day_start_hour)
    return [Drift(table="user_task_attempt.local_day", side="wrong", row=row) for row in rows]


async def check_users(
    conn: AsyncConnection,
    *,
    user_ids: Sequence[uuid.UUID],
    policy: streaks.StreakPolicy = streaks.DEFAULT_POLICY,
) -> list[Drift]:
    """The rows where the live derived tables differ from a recompute (writes nothing)."""
    await _build_expected(conn, user_ids, policy)
    rows = await q.drift(conn, user_ids)
    found = [
        Drift(
            table=row.pop("table"),
            side=row.pop("side"),
            row=row,
        )
        for row in rows
    ]
    return found + await _local_day_drift(conn, user_ids, policy)


async def rebuild_users(
    conn: AsyncConnection,
    *,
    user_ids: Sequence[uuid.UUID],
    policy: streaks.StreakPolicy = streaks.DEFAULT_POLICY,
) -> None:
    """Replace the users' derived rows by the recompute, holding their attempt locks.
    Attempts' local days are facts and stay as recorded."""
    await q.lock_users(conn, user_ids)
    await _build_expected(conn, user_ids, policy)
    await q.replace_live(conn, user_ids)
