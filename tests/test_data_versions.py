"""The versions ETags are derived from: every write to a learner's rows moves the learner's
version, every content write the content version, and neither makes writers wait."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db import version_queries
from tests.factories import make_course
from tests.graphql_client import GraphQLClient
from tests.lock_waits import backend_pid, never_blocked_by
from tests.queue_helpers import Clock, Learner
from tests.test_badges import make_badge

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEARNER_TABLES = [
    "user_course_enrollment",
    "user_task_attempt",
    "user_task_state",
    "user_section_progress",
    "user_course_progress",
    "user_daily_activity",
    "user_streak",
    "user_totals",
    "user_badge",
    "user_task_queue",
]
CONTENT_TABLES = ["course", "section", "theme", "task", "badge", "badge_rule"]


@pytest.fixture
async def active_learner(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> Learner:
    """A learner with rows in every per-learner table: a badge, a solve, a retry."""
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=3)
    clock = Clock(NOW)
    learner = Learner(make_client(clock=clock), clock, clean_db, tree, uuid.uuid4())
    await make_badge(learner.client, "solved_total", {"tasks": 1})
    await learner.submit(tree.task_ids[0], solved=True)
    await learner.submit(tree.task_ids[1], solved=False)
    return learner


async def versions(engine: AsyncEngine, user_id: uuid.UUID) -> tuple[int, int]:
    async with engine.connect() as conn:
        row = await version_queries.get_versions(conn, user_id)
    return row.content_version, row.user_version


@pytest.mark.parametrize("table", LEARNER_TABLES)
async def test_any_update_or_delete_of_a_learner_row_moves_their_version_only(
    active_learner: Learner, table: str
) -> None:
    engine, user = active_learner.engine, active_learner.user
    content, first = await versions(engine, user)

    await active_learner.sql(f"UPDATE {table} SET user_id = user_id WHERE user_id = :u", u=user)
    _, updated = await versions(engine, user)
    await active_learner.sql(f"DELETE FROM {table} WHERE user_id = :u", u=user)

    assert first < updated < (await versions(engine, user))[1]
    assert (await versions(engine, user))[0] == content


@pytest.mark.parametrize("table", CONTENT_TABLES)
async def test_any_content_statement_moves_the_content_version_and_no_learners(
    active_learner: Learner, table: str
) -> None:
    engine, user = active_learner.engine, active_learner.user
    content, learner = await versions(engine, user)

    await active_learner.sql(f"UPDATE {table} SET id = id")

    new_content, new_learner = await versions(engine, user)
    assert new_content > content
    assert new_learner == learner


async def test_content_change_that_recounts_progress_moves_the_content_version_only(
    active_learner: Learner,
) -> None:
    engine, user = active_learner.engine, active_learner.user
    content, learner = await versions(engine, user)

    # Deactivating a solved task recounts the learner's section and course progress rows.
    await active_learner.sql(
        "UPDATE task SET active = false WHERE id = :t", t=active_learner.tree.task_ids[0]
    )

    new_content, new_learner = await versions(engine, user)
    assert new_content > content
    assert new_learner == learner


async def test_one_transaction_moves_a_version_once(active_learner: Learner) -> None:
    engine, user = active_learner.engine, active_learner.user
    _, before = await versions(engine, user)
    next_value = await _next_sequence_value(engine)

    async with engine.begin() as conn:
        for table in LEARNER_TABLES:
            await conn.execute(
                text(f"UPDATE {table} SET user_id = user_id WHERE user_id = :u"), {"u": user}
            )

    _, after = await versions(engine, user)
    assert before < after == next_value + 1


async def test_writers_of_one_learner_do_not_wait_for_each_other(active_learner: Learner) -> None:
    engine, user = active_learner.engine, active_learner.user
    _, before = await versions(engine, user)

    async with engine.connect() as open_conn:
        transaction = await open_conn.begin()
        await open_conn.execute(
            text("UPDATE user_task_state SET total_tries = total_tries WHERE user_id = :u"),
            {"u": user},
        )
        # The open transaction holds its rows, not the learner's version row: another
        # transaction of the same learner commits without waiting for it.
        await never_blocked_by(
            engine,
            await backend_pid(open_conn),
            active_learner.sql(
                "UPDATE user_streak SET longest = longest WHERE user_id = :u", u=user
            ),
        )
        _, between = await versions(engine, user)
        await transaction.commit()

    _, after = await versions(engine, user)
    assert before < between < after


async def test_rolled_back_write_leaves_the_version(active_learner: Learner) -> None:
    engine, user = active_learner.engine, active_learner.user
    before = await versions(engine, user)

    async with engine.connect() as conn:
        transaction = await conn.begin()
        await conn.execute(text("DELETE FROM user_streak WHERE user_id = :u"), {"u": user})
        await transaction.rollback()

    assert await versions(engine, user) == before


async def test_a_learner_made_again_never_gets_an_old_version(active_learner: Learner) -> None:
    engine, user = active_learner.engine, active_learner.user
    _, before = await versions(engine, user)

    await active_learner.sql("DELETE FROM users WHERE id = :u", u=user)
    gone = await versions(engine, user)
    await active_learner.sql("INSERT INTO users (id) VALUES (:u)", u=user)

    assert gone[1] is None
    assert (await versions(engine, user))[1] > before


async def _next_sequence_value(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        value: int = (
            await conn.execute(text("SELECT last_value FROM learntrack_data_version"))
        ).scalar_one()
    return value
