"""`learntrack recompute --check` checks awards (against a backfill from scratch, written
nowhere) and the queue's retry and review entries (against the attempts and the policy)."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gql import maintenance
from gql.ids import to_global_id
from tests.attempt_helpers import drift, submit
from tests.clock import Clock
from tests.factories import make_course
from tests.graphql_client import GraphQLClient
from tests.test_badges import make_badge

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


async def _sql(engine: AsyncEngine, statement: str, **params: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(statement), params)


async def _rows(engine: AsyncEngine, statement: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(text(statement))]


@pytest.fixture
async def history(make_client: Any, clean_db: AsyncEngine) -> dict[str, Any]:
    """A learner with two awards (first solve, two solved) and a queued retry."""
    clock = Clock(NOW)
    client: GraphQLClient = make_client(clock=clock)
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=3)
    await make_badge(client, "solved_total", {"tasks": 1})
    await make_badge(client, "solved_total", {"tasks": 2})
    user = uuid.uuid4()
    for index, solved in enumerate((True, True, False)):
        at = NOW - timedelta(hours=3 - index)
        outcome = await submit(
            client, user, task_id=tree.task_ids[index], solved=solved, occurred_at=at
        )
        assert outcome["__typename"] == "SubmitAttemptSuccess", outcome
    return {"client": client, "tree": tree, "user": user, "clock": clock}


async def test_a_consistent_history_checks_clean_and_the_check_writes_nothing(
    history: dict[str, Any], clean_db: AsyncEngine, database_url: str
) -> None:
    awards = "SELECT badge_id, awarded_at, revoked_at FROM user_badge ORDER BY awarded_at"
    before = await _rows(clean_db, awards)
    await _sql(
        clean_db,
        "DELETE FROM user_badge WHERE awarded_at = (SELECT max(awarded_at) FROM user_badge)",
    )
    trimmed = await _rows(clean_db, awards)

    drifted = await maintenance.run_recompute(database_url, user_id=None, check=True)

    assert len(before) == 2
    assert drifted == 1  # the award deleted above, which the check does not write back
    assert await _rows(clean_db, awards) == trimmed


async def test_the_check_reports_awards_a_backfill_from_scratch_would_not_give(
    history: dict[str, Any], clean_db: AsyncEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await drift(clean_db) == []
    # an award moved in time, and one the attempts never earned (its attempt is another)
    await _sql(
        clean_db,
        "UPDATE user_badge SET awarded_at = awarded_at - interval '1 day'"
        " WHERE awarded_at = (SELECT min(awarded_at) FROM user_badge)",
    )

    found = await drift(clean_db)

    assert len(found) == 2
    assert [line.split(": ")[:2] for line in sorted(found)] == [
        ["user_badge", "missing or wrong"],
        ["user_badge", "unexpected"],
    ]
    assert all(f"user_id={history['user']}" in line for line in found)


async def test_a_revoked_award_and_one_of_a_deactivated_rule_check_clean(
    history: dict[str, Any], clean_db: AsyncEngine
) -> None:
    await _sql(
        clean_db,
        "UPDATE user_badge SET revoked_at = now(), revoked_by = :a, revoke_reason = 'x'"
        " WHERE awarded_at = (SELECT min(awarded_at) FROM user_badge)",
        a=uuid.uuid4(),
    )
    await _sql(
        clean_db,
        "UPDATE badge_rule SET active = false WHERE id = (SELECT rule_id FROM user_badge"
        " WHERE awarded_at = (SELECT max(awarded_at) FROM user_badge))",
    )

    assert await drift(clean_db) == []


async def test_the_check_reports_queue_entries_the_attempts_do_not_explain(
    history: dict[str, Any], clean_db: AsyncEngine
) -> None:
    tree, user = history["tree"], history["user"]
    assert await drift(clean_db) == []
    # the retry of the failed task moved, and a retry of a solved task appeared
    await _sql(clean_db, "UPDATE user_task_queue SET due_at = due_at + interval '1 hour'")
    await _sql(
        clean_db,
        "INSERT INTO user_task_queue (user_id, task_id, course_id, state, reason, priority,"
        " due_at, deliveries, enqueued_at) VALUES (:u, :t, :c, 'queued', 'retry', 0, :at, 0, :at)",
        u=user,
        t=tree.task_ids[0],
        c=tree.course_id,
        at=NOW,
    )

    found = await drift(clean_db)

    failed_due = NOW - timedelta(hours=1) + timedelta(minutes=10)
    # (the lines' order follows random ids: compared as a set)
    assert {(line.split(": ")[1], *line.split(", ")[1:]) for line in found} == {
        (
            "missing or wrong",
            f"task_id={tree.task_ids[2]}",
            "state=queued",
            "reason=retry",
            f"due_at={failed_due}",
        ),
        (
            "unexpected",
            f"task_id={tree.task_ids[0]}",
            "state=queued",
            "reason=retry",
            f"due_at={NOW}",
        ),
        (
            "unexpected",
            f"task_id={tree.task_ids[2]}",
            "state=queued",
            "reason=retry",
            f"due_at={failed_due + timedelta(hours=1)}",
        ),
    }
    assert len(found) == 3
    assert all(line.startswith("user_task_queue: ") for line in found)


async def test_a_reservation_in_flight_is_not_drift(
    history: dict[str, Any], clean_db: AsyncEngine
) -> None:
    client, user = history["client"], history["user"]
    body = await client.execute(
        "mutation($c: ID!) { reserveTasks(courseId: $c, limit: 5) {"
        " ... on ReserveTasksSuccess { reservations { reason } } } }",
        {"c": to_global_id("Course", history["tree"].course_id)},
        user=user,
    )
    assert body["data"]["reserveTasks"]["reservations"] == [{"reason": "RETRY"}]

    assert await drift(clean_db) == []


async def test_a_rule_added_later_owes_nothing_earned_before_it_until_a_backfill_runs(
    history: dict[str, Any], clean_db: AsyncEngine, database_url: str
) -> None:
    # Given a rule added an hour after the learner earned it (two tasks solved), no backfill
    history["clock"].now = NOW + timedelta(hours=1)
    later = await make_badge(history["client"], "solved_total", {"tasks": 2})
    assert await drift(clean_db) == []  # nothing owed: earned before the rule existed

    # When a backfill over every learner runs, the rule owes the past
    await maintenance.run_backfill(database_url, rule_id=None, dry_run=False, after=None)
    held = await _rows(clean_db, "SELECT badge_id FROM user_badge")
    assert len(held) == 3
    assert await drift(clean_db) == []

    # Then losing that award is drift
    await _sql(
        clean_db,
        "DELETE FROM user_badge WHERE rule_id = (SELECT id FROM badge_rule WHERE key = :k)",
        k=f"{later['key']}/rule",
    )
    assert [line.split(": ")[:2] for line in await drift(clean_db)] == [
        ["user_badge", "missing or wrong"]
    ]
