"""A badge backfill replays attempts in the order the server received them, items of one
``submitAttempts`` batch included, so it reproduces incremental awards exactly."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import Database
from domain import badge_backfill
from tests.attempt_helpers import SUBMIT_MANY, attempt_input
from tests.clock import Clock
from tests.factories import make_course
from tests.graphql_client import GraphQLClient
from tests.test_badges import make_badge

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
AWARDS = "SELECT badge_id, context_key, attempt_id, awarded_at FROM user_badge ORDER BY 1, 2"


async def _awards(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(text(AWARDS))]


async def test_backfill_replays_a_batch_in_the_order_it_was_submitted(
    make_client: Any, clean_db: AsyncEngine
) -> None:
    # given a first-solve badge and one batch whose first item has the larger id and the
    # later occurredAt: UUID order and submission order disagree
    client: GraphQLClient = make_client(clock=Clock(NOW))
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=2)
    await make_badge(client, "solved_total", {"tasks": 1})
    user = uuid.uuid4()
    first = attempt_input(
        tree.task_ids[0],
        attempt_id=uuid.UUID(int=2**128 - 1),
        occurred_at=NOW - timedelta(hours=1),
    )
    second = attempt_input(
        tree.task_ids[1], attempt_id=uuid.UUID(int=1), occurred_at=NOW - timedelta(hours=2)
    )
    body = await client.execute(SUBMIT_MANY, {"inputs": [first, second]}, user=user)
    assert [r["__typename"] for r in body["data"]["submitAttempts"]] == ["SubmitAttemptSuccess"] * 2
    incremental = await _awards(clean_db)
    assert [award[2] for award in incremental] == [uuid.UUID(first["id"])]

    # when the awards are rebuilt by a backfill from scratch
    async with clean_db.begin() as conn:
        await conn.execute(text("DELETE FROM user_badge"))
    async with Database(clean_db).transaction() as conn:
        await badge_backfill.backfill_users(conn, user_ids=[user], rule_ids=None, dry_run=False)

    # then the same attempt earned it, at the same time
    assert await _awards(clean_db) == incremental
