"""Exactly once under concurrency: replays racing their original, over many connections."""

import asyncio
import random
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import attempt_queries
from db import engine as db_engine
from db.engine import Database
from gql.app import create_app
from gql.settings import Settings
from tests.attempt_helpers import SUBMIT, attempt_input, drift
from tests.factories import make_course
from tests.graphql_client import GraphQLClient

USERS = 20
IDS_PER_USER = 10
SUBMISSIONS = 1000
CONNECTIONS = 24


@pytest.fixture
async def wide_client(
    clean_db: AsyncEngine, database_url: str, settings: Settings
) -> AsyncIterator[GraphQLClient]:
    """A client over an app whose pool holds enough connections for real parallelism."""
    engine = db_engine.create_engine(database_url, pool_size=CONNECTIONS)
    app = create_app(settings, Database(engine))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield GraphQLClient(http, settings)
    await engine.dispose()


def _plan(task_ids: list[uuid.UUID], rng: random.Random) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    """1,000 (user, input) submissions over 200 ids, each id sent 1 to 10 times, shuffled."""
    now = datetime.now(UTC)
    attempts = [
        (
            user,
            attempt_input(
                rng.choice(task_ids),
                solved=rng.random() < 0.6,
                tries=rng.randint(1, 5),
                time_spent_ms=rng.randint(0, 60_000),
                occurred_at=now - timedelta(minutes=rng.randint(0, 3000)),
            ),
        )
        for user in [uuid.uuid4() for _ in range(USERS)]
        for _ in range(IDS_PER_USER)
    ]
    copies = [1] * len(attempts)
    while sum(copies) < SUBMISSIONS:
        index = rng.randrange(len(copies))
        if copies[index] < 10:
            copies[index] += 1
    plan = [item for item, n in zip(attempts, copies, strict=True) for _ in range(n)]
    rng.shuffle(plan)
    return plan


async def _run(client: GraphQLClient, engine: AsyncEngine, seed: int) -> list[str]:
    """Submit the plan concurrently; return every violated expectation (empty = all held)."""
    async with engine.begin() as conn:
        tree = await make_course(conn, sections=2, themes=2, tasks=5)
    plan = _plan(tree.task_ids, random.Random(seed))
    gate = asyncio.Semaphore(CONNECTIONS * 2)

    async def send(user: uuid.UUID, item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        async with gate:
            body = await client.execute(SUBMIT, {"input": item}, user=user)
        return item["id"], body

    responses = await asyncio.gather(*(send(user, item) for user, item in plan))
    problems: list[str] = []
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for attempt_id, body in responses:
        if "errors" in body:
            problems.append(f"{attempt_id}: {body['errors']}")
            continue
        by_id[attempt_id].append(body["data"]["submitAttempt"])
    for attempt_id, results in by_id.items():
        firsts = [r for r in results if r.get("replayed") is False]
        if len(firsts) != 1:
            problems.append(f"{attempt_id}: {len(firsts)} first recordings")
        if len({repr({**r, "replayed": None}) for r in results}) != 1:
            problems.append(f"{attempt_id}: responses differ")
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT count(*) FROM user_task_attempt"))).scalar()
    if rows != USERS * IDS_PER_USER:
        problems.append(f"{rows} attempt rows")
    return problems + await drift(engine)


async def test_concurrent_replays_record_each_attempt_exactly_once(
    wide_client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    problems = await _run(wide_client, clean_db, seed=7)

    assert problems == []


def _read_modify_write(
    original: Callable[..., Any],
) -> Callable[..., Any]:
    async def broken(conn: AsyncConnection, **kwargs: Any) -> Any:
        # Read, think, write back absolute values: the lost-update bug the real
        # statement avoids by incrementing in SQL under the user lock.
        row = (
            await conn.execute(
                text(
                    "SELECT attempts_count, total_time_ms FROM user_section_progress"
                    " WHERE user_id = :u AND section_id = :s"
                ),
                {"u": kwargs["user_id"], "s": kwargs["section_id"]},
            )
        ).one_or_none()
        await asyncio.sleep(0.002)
        result = await original(conn, **kwargs)
        if row is not None:
            await conn.execute(
                text(
                    "UPDATE user_section_progress SET attempts_count = :n, total_time_ms = :t"
                    " WHERE user_id = :u AND section_id = :s"
                ),
                {
                    "n": row.attempts_count + 1,
                    "t": row.total_time_ms + kwargs["time_spent_ms"],
                    "u": kwargs["user_id"],
                    "s": kwargs["section_id"],
                },
            )
        return result

    return broken


async def _no_lock(conn: AsyncConnection, user_id: uuid.UUID) -> str:
    await conn.execute(
        text("INSERT INTO users (id) VALUES (:u) ON CONFLICT DO NOTHING"), {"u": user_id}
    )
    return "UTC"


async def test_the_same_run_catches_a_read_modify_write_counter(
    wide_client: GraphQLClient, clean_db: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attempt_queries, "lock_user", _no_lock)
    monkeypatch.setattr(
        attempt_queries,
        "upsert_section_progress",
        _read_modify_write(attempt_queries.upsert_section_progress),
    )

    problems = await _run(wide_client, clean_db, seed=7)

    assert problems != []


async def test_a_failure_mid_transaction_leaves_no_trace_and_the_retry_counts_once(
    client: GraphQLClient, clean_db: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=1)
    user = uuid.uuid4()
    item = attempt_input(tree.task_ids[0])
    real = attempt_queries.upsert_task_state

    async def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("injected between the attempt insert and the stats update")

    monkeypatch.setattr(attempt_queries, "upsert_task_state", crash)
    failed = await client.execute(SUBMIT, {"input": item}, user=user)
    async with clean_db.connect() as conn:
        traces = [
            (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar()
            for table in ("users", "user_task_attempt", "user_task_state", "user_course_enrollment")
        ]
    monkeypatch.setattr(attempt_queries, "upsert_task_state", real)
    retried = await client.execute(SUBMIT, {"input": item}, user=user)
    replayed = await client.execute(SUBMIT, {"input": item}, user=user)

    assert failed["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert traces == [0, 0, 0, 0]
    assert retried["data"]["submitAttempt"]["replayed"] is False
    assert replayed["data"]["submitAttempt"]["replayed"] is True
    assert retried["data"]["submitAttempt"]["taskState"]["successCount"] == 1
    assert await drift(clean_db) == []
