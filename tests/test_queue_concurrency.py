"""The queue under concurrency: disjoint batches, no waiting, rollbacks, mixed with attempts."""

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db import engine as db_engine
from db.engine import Database
from domain import attempts, reservations, users
from gql.app import create_app
from gql.ids import to_global_id
from gql.settings import Settings
from tests.attempt_helpers import SUBMIT_MANY, attempt_input, drift
from tests.factories import make_course
from tests.graphql_client import GraphQLClient
from tests.lock_waits import backend_pid, never_blocked_by
from tests.queue_helpers import RESERVE, Clock

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RESERVERS = 8
CONNECTIONS = 16


@pytest.fixture
async def wide(
    clean_db: AsyncEngine, database_url: str, settings: Settings
) -> AsyncIterator[tuple[GraphQLClient, Clock]]:
    """A client over an app with a pool wide enough for every reserver at once."""
    engine = db_engine.create_engine(database_url, pool_size=CONNECTIONS)
    clock = Clock(NOW)
    app = create_app(settings, Database(engine), clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield GraphQLClient(http, settings), clock
    await engine.dispose()


def _variables(course_id: uuid.UUID, limit: int) -> dict[str, Any]:
    return {
        "course": to_global_id("Course", course_id),
        "limit": limit,
        "section": None,
        "theme": None,
        "same": False,
        "visibility": 30,
    }


async def test_eight_reservers_of_one_learner_get_disjoint_batches_covering_every_task(
    wide: tuple[GraphQLClient, Clock], clean_db: AsyncEngine
) -> None:
    # given one learner and 1,000 available tasks
    client, _ = wide
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=10, themes=10, tasks=10)
    user = uuid.uuid4()
    holder: dict[str, int] = {}
    double_deliveries: list[str] = []

    def on_delivery(worker: int, task: str) -> None:
        # The handler a learner's client would run; it must never see a task twice.
        if task in holder:
            double_deliveries.append(f"{task}: workers {holder[task]} and {worker}")
        holder[task] = worker

    async def reserver(worker: int) -> int:
        rng, calls = random.Random(worker), 0
        while True:
            body = await client.execute(
                RESERVE, _variables(tree.course_id, rng.randint(1, 50)), user=user
            )
            calls += 1
            batch = body["data"]["reserveTasks"]["reservations"]
            if not batch:
                return calls
            for reservation in batch:
                on_delivery(worker, reservation["taskId"])

    # when eight clients reserve concurrently until nothing is left (visibility 30 s)
    calls = await asyncio.gather(*(reserver(w) for w in range(RESERVERS)))

    # then no task was handed out twice and together they got exactly the 1,000
    assert double_deliveries == []
    assert set(holder) == {to_global_id("Task", t) for t in tree.task_ids}
    assert len(set(holder.values())) == RESERVERS  # every reserver took part
    assert sum(calls) > RESERVERS
    async with clean_db.connect() as conn:
        rows = await conn.execute(
            text("SELECT state, deliveries, count(*) FROM user_task_queue GROUP BY 1, 2")
        )
        assert [tuple(row) for row in rows] == [("reserved", 1, 1000)]


async def _reserve(conn: Any, course_id: uuid.UUID, user: uuid.UUID, **kwargs: Any) -> Any:
    return await reservations.reserve_tasks(
        conn, user_id=user, course_id=course_id, now=kwargs.pop("now", NOW), **kwargs
    )


async def test_a_rolled_back_reservation_leaves_the_task_reservable(clean_db: AsyncEngine) -> None:
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=2)
    user = uuid.uuid4()

    async with clean_db.connect() as conn:
        async with conn.begin() as transaction:
            (lost,) = await _reserve(conn, tree.course_id, user, limit=1)
            await transaction.rollback()
    async with clean_db.begin() as conn:
        (kept,) = await _reserve(conn, tree.course_id, user, limit=1)

    assert lost.task_id == kept.task_id == tree.task_ids[0]
    assert kept.deliveries == 1 and kept.lease_token != lost.lease_token


async def test_a_reservation_in_flight_is_skipped_not_waited_for(clean_db: AsyncEngine) -> None:
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=3)
        # A learner seen before: only the very first request of a new learner may wait,
        # for a concurrent first request that is creating the same user row.
        user = await users.ensure_user(conn, user_id=uuid.uuid4())

    async with clean_db.connect() as first, clean_db.connect() as second:
        await first.begin()
        (held,) = await _reserve(first, tree.course_id, user.id, limit=1)
        holder = await backend_pid(first)
        await second.begin()
        other = await never_blocked_by(
            clean_db, holder, _reserve(second, tree.course_id, user.id, limit=5)
        )
        await second.commit()
        await first.commit()

    assert held.task_id == tree.task_ids[0]
    assert [r.task_id for r in other] == tree.task_ids[1:]


async def test_an_uncommitted_retry_is_invisible_until_it_commits(clean_db: AsyncEngine) -> None:
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=2)
        user = (await users.ensure_user(conn, user_id=uuid.uuid4())).id
    failed = tree.task_ids[0]
    later = NOW + timedelta(hours=1)

    async def preview(conn: Any) -> list[tuple[uuid.UUID, str]]:
        entries = await reservations.preview_queue(
            conn, user_id=user, course_id=tree.course_id, limit=5, now=later
        )
        assert entries is not None
        return [(e.task_id, e.reason) for e in entries]

    async with clean_db.connect() as writer, clean_db.connect() as reader:
        await writer.begin()
        await attempts.record_attempt(
            writer,
            user_id=user,
            attempt=attempts.AttemptInput(
                id=uuid.uuid4(),
                task_id=failed,
                tries=1,
                time_spent_ms=10,
                solved=False,
                occurred_at=NOW,
                source="web",
            ),
            now=NOW,
            policy=attempts.AttemptPolicy(),
        )
        # the retry is enqueued but not committed: another transaction sees none of it,
        # and a reserver skips the task rather than wait for it
        await reader.begin()
        invisible = await preview(reader)
        skipped = await _reserve(reader, tree.course_id, user, limit=5, now=later)
        await reader.rollback()
        await writer.commit()
        visible = await preview(reader)
        await reader.rollback()

    assert invisible == [(failed, "new"), (tree.task_ids[1], "new")]
    assert [r.task_id for r in skipped] == [tree.task_ids[1]]
    assert visible == [(failed, "retry"), (tree.task_ids[1], "new")]


async def test_reservers_and_attempt_batches_of_one_learner_never_deadlock(
    wide: tuple[GraphQLClient, Clock], clean_db: AsyncEngine
) -> None:
    # given one learner whose reservers and offline syncs run at the same time
    client, clock = wide
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=2, themes=4, tasks=10)
    user = uuid.uuid4()
    by_gid = {to_global_id("Task", t): t for t in tree.task_ids}
    tokens: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    problems: list[Any] = []

    async def reserver(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(15):
            body = await client.execute(
                RESERVE, _variables(tree.course_id, rng.randint(1, 8)), user=user
            )
            if "errors" in body:
                problems.append(body["errors"])
                return
            for r in body["data"]["reserveTasks"]["reservations"]:
                tokens.put_nowait((r["taskId"], r["leaseToken"]))

    async def syncer(seed: int) -> None:
        # Batches of attempts on random tasks, some completing reservations: each batch is
        # one transaction holding the user lock while it takes task locks in any order.
        rng = random.Random(seed)
        for _ in range(10):
            batch = []
            for _ in range(rng.randint(1, 6)):
                if not tokens.empty() and rng.random() < 0.6:
                    gid, token = tokens.get_nowait()
                    task = by_gid[gid]
                else:
                    task, token = rng.choice(tree.task_ids), None
                item = attempt_input(task, solved=rng.random() < 0.5, occurred_at=clock.now)
                batch.append({**item, "leaseToken": token})
            body = await client.execute(SUBMIT_MANY, {"inputs": batch}, user=user)
            if "errors" in body:
                problems.append(body["errors"])
                return
            await asyncio.sleep(0)

    await asyncio.gather(*(reserver(s) for s in range(4)), *(syncer(100 + s) for s in range(4)))

    assert problems == []
    assert await drift(clean_db) == []
