"""Recompute: rebuild or check every derived per-user table from the attempts alone.

The invariant behind incremental updates: after any interleaving of submissions, the
derived tables equal this recompute. ``check`` reports any row that differs, and also
checks what a rebuild does not rewrite: awards (against a backfill from scratch) and the
task queue's retry and review entries (against the queue policy over the attempts).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from db import recompute_queries as q
from domain import badge_backfill, retry_policy, streaks


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
    found += await _local_day_drift(conn, user_ids, policy)
    found += await check_awards(conn, user_ids=user_ids, policy=policy)
    found += await check_queue(conn, user_ids=user_ids)
    found += await _enrollment_drift(conn, user_ids)
    return found


async def _enrollment_drift(conn: AsyncConnection, user_ids: Sequence[uuid.UUID]) -> list[Drift]:
    # Enrollments are not rebuilt from the attempts (the learner starts them): checked
    # against the completion policy and the recomputed progress instead.
    return [
        Drift(table="user_course_enrollment", side=row.pop("problem"), row=row)
        for row in await q.enrollment_drift(conn, user_ids)
    ]


def _sides(
    table: str, expected: set[tuple[Any, ...]], live: set[tuple[Any, ...]], columns: Sequence[str]
) -> list[Drift]:
    return [
        Drift(table, side, dict(zip(columns, values, strict=True)))
        for side, rows in (("missing or wrong", expected - live), ("unexpected", live - expected))
        for values in sorted(rows, key=str)
    ]


AWARD_COLUMNS = ("user_id", "badge_id", "context_key", "attempt_id", "awarded_at")


async def check_awards(
    conn: AsyncConnection,
    *,
    user_ids: Sequence[uuid.UUID],
    policy: streaks.StreakPolicy = streaks.DEFAULT_POLICY,
) -> list[Drift]:
    """Awards that differ from a backfill from scratch under the active rules (the replay
    runs in memory and writes nothing): one held that the attempts never earned, one they
    earned that is not held (a rule added without a backfill, until it is backfilled), or
    one dated before the replay earns it. An award dated later than the replay's is sound:
    a rule added, or a content change completing something, after the learner first met
    it awards at that later event. A revoked award stays a row and is compared like any
    other; awards of a (badge, context) given by a rule since deactivated (or of a badge
    deactivated) are left out on both sides, as the backfill no longer knows them."""
    replayed = await badge_backfill.replay_users(
        conn, user_ids=user_ids, rule_ids=None, policy=policy
    )
    live_rows = await q.live_awards(conn, user_ids)
    retired = {
        (row.user_id, row.badge_id, row.context_key) for row in live_rows if not row.by_active_rule
    }
    live = {
        (row.user_id, row.badge_id, row.context_key): (row.attempt_id, row.awarded_at)
        for row in live_rows
        if row.by_active_rule
    }
    expected = {
        (award["user_id"], award["badge_id"], award["context_key"]): (
            award["attempt_id"],
            award["awarded_at"],
        )
        for award in replayed
        if (award["user_id"], award["badge_id"], award["context_key"]) not in retired
    }
    for key in live.keys() & expected.keys():
        (live_attempt, live_at), (earned_attempt, earned_at) = live[key], expected[key]
        if live_at > earned_at or (live_at, live_attempt) == (earned_at, earned_attempt):
            del live[key], expected[key]  # sound: as replayed, or awarded by a later event
    # Not held, and not owed: earned by an attempt received before the rule owed awards
    # (created without a backfill since).
    unheld = [award for award in replayed if _key(award) in expected.keys() - live.keys()]
    if unheld:
        owed_from = await q.rules_awards_from(conn, {award["rule_id"] for award in unheld})
        received = await q.attempts_received(
            conn, [(award["user_id"], award["attempt_id"]) for award in unheld]
        )
        for award in unheld:
            start = owed_from.get(award["rule_id"])
            if start is not None and received[(award["user_id"], award["attempt_id"])] < start:
                del expected[_key(award)]
    return _sides(
        "user_badge",
        {(*key, *value) for key, value in expected.items()},
        {(*key, *value) for key, value in live.items()},
        AWARD_COLUMNS,
    )


def _key(award: dict[str, Any]) -> tuple[Any, Any, Any]:
    return award["user_id"], award["badge_id"], award["context_key"]


QUEUE_COLUMNS = ("user_id", "task_id", "state", "reason", "due_at")


def expected_entry(
    history: Sequence[retry_policy.Review], policy: retry_policy.Policy
) -> tuple[str, str | None, Any] | None:
    """What a task's queue entry is after ``history`` (its attempts in the order they
    occurred) under ``policy``: None (done), ('expired', None, None) or ('queued', reason,
    due_at); what settling the last of them computed, whatever order they arrived in."""
    step = policy.next_step(
        solved=any(review.solved for review in history),
        failure_count=sum(not review.solved for review in history),
        history=history,
        now=max(review.at for review in history),
    )
    if step.state == "done":
        return None
    if step.state == "expired":
        return ("expired", None, None)
    return ("queued", step.reason, step.due_at)


async def check_queue(conn: AsyncConnection, *, user_ids: Sequence[uuid.UUID]) -> list[Drift]:
    """Retry and review entries and expired markers that differ from what the users'
    attempts leave under their courses' current queue policies. A task with a reservation
    in flight is the learner's to settle and is skipped, as are new tasks (a released
    reservation of one stays queued, which no attempt decides)."""
    histories: dict[tuple[uuid.UUID, uuid.UUID], list[retry_policy.Review]] = {}
    policies: dict[tuple[uuid.UUID, uuid.UUID], retry_policy.Policy] = {}
    for row in await q.queue_histories(conn, user_ids):
        key = (row.user_id, row.task_id)
        histories.setdefault(key, []).append(
            retry_policy.Review(row.occurred_at, row.solved, row.tries)
        )
        if key not in policies:
            policies[key] = retry_policy.policy_from_json(row.queue_policy)
    live: set[tuple[Any, ...]] = set()
    in_flight: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for row in await q.live_queue_entries(conn, user_ids):
        if row.state == "reserved":
            in_flight.add((row.user_id, row.task_id))
        elif row.state == "expired":
            live.add((row.user_id, row.task_id, "expired", None, None))
        elif row.reason != "new":
            live.add((row.user_id, row.task_id, row.state, row.reason, row.due_at))
    expected: set[tuple[Any, ...]] = set()
    for key, history in histories.items():
        entry = expected_entry(history, policies[key])
        if entry is not None:
            expected.add((*key, *entry))
    live = {row for row in live if (row[0], row[1]) not in in_flight}
    expected = {row for row in expected if (row[0], row[1]) not in in_flight}
    return _sides("user_task_queue", expected, live, QUEUE_COLUMNS)


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
    await q.repair_enrollments(conn, user_ids)
