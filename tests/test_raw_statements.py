"""db.raw: statements sent straight to asyncpg belong to the SQLAlchemy connection's
transaction, and read and write values as SQLAlchemy's own statements do."""

import asyncio
import logging
import uuid
from typing import Any

import pytest
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from db import engine as db_engine
from db import raw
from db.engine import Database

INSERT_USER = "INSERT INTO users (id, timezone) VALUES ($1, $2)"


async def _user_count(engine: AsyncEngine, user_id: uuid.UUID) -> int:
    async with engine.connect() as conn:
        count = (
            await conn.execute(text("SELECT count(*) FROM users WHERE id = :u"), {"u": user_id})
        ).scalar_one()
    return int(count)


async def test_a_first_raw_statement_is_rolled_back_with_the_transaction(
    clean_db: AsyncEngine,
) -> None:
    user = uuid.uuid4()

    async with clean_db.connect() as conn:
        await conn.begin()
        await raw.execute(conn, INSERT_USER, user, "UTC")
        await conn.rollback()

    assert await _user_count(clean_db, user) == 0


async def test_a_first_raw_statement_is_committed_with_the_transaction(
    clean_db: AsyncEngine,
) -> None:
    user = uuid.uuid4()

    async with clean_db.begin() as conn:
        await raw.execute(conn, INSERT_USER, user, "UTC")
        seen = await conn.execute(text("SELECT timezone FROM users WHERE id = :u"), {"u": user})
        timezone = seen.scalar_one()

    assert timezone == "UTC"
    assert await _user_count(clean_db, user) == 1


async def test_a_rolled_back_savepoint_undoes_raw_statements_inside_it(
    conn: AsyncConnection,
) -> None:
    kept, undone = uuid.uuid4(), uuid.uuid4()

    await raw.execute(conn, INSERT_USER, kept, "UTC")
    savepoint = await conn.begin_nested()
    await raw.execute(conn, INSERT_USER, undone, "UTC")
    await savepoint.rollback()
    rows = await raw.fetch(
        conn, "SELECT id FROM users WHERE id = ANY($1) ORDER BY id", [kept, undone]
    )

    assert [row.id for row in rows] == [kept]


async def test_raw_statements_refuse_a_connection_outside_a_transaction(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        with pytest.raises(RuntimeError, match="in a transaction"):
            await raw.execute(conn, "SELECT 1")


async def test_rows_read_by_attribute_and_json_decodes_as_with_sqlalchemy(
    conn: AsyncConnection,
) -> None:
    value = {"a": [1, 2.5, None], "b": "x"}

    row = await raw.fetch_one(
        conn,
        "SELECT CAST($1 AS jsonb) AS document, CAST($2 AS jsonb) IS NULL AS sql_null,"
        " jsonb_typeof(CAST($2 AS jsonb)) AS kind",
        raw.jsonb(value),
        raw.jsonb(None),
    )
    through_sqlalchemy = await conn.execute(
        text(
            "SELECT CAST(:v AS jsonb) AS document, CAST(:n AS jsonb) IS NULL AS sql_null,"
            " jsonb_typeof(CAST(:n AS jsonb)) AS kind"
        ).bindparams(bindparam("v", type_=JSONB), bindparam("n", type_=JSONB)),
        {"v": value, "n": None},
    )

    assert tuple(row) == tuple(through_sqlalchemy.one())
    assert (row.document, row.sql_null, row.kind) == (value, False, "null")


async def test_fetch_one_and_fetch_optional_refuse_extra_rows(conn: AsyncConnection) -> None:
    many = "SELECT g FROM generate_series(1, $1) g"

    assert await raw.fetch_optional(conn, many, 0) is None
    with pytest.raises(LookupError):
        await raw.fetch_one(conn, many, 0)
    with pytest.raises(LookupError):
        await raw.fetch_optional(conn, many, 2)
    assert (await raw.fetch_one(conn, many, 1)).g == 1


async def test_a_write_transaction_commits_on_success_and_rolls_back_on_error(
    clean_db: AsyncEngine,
) -> None:
    database = Database(clean_db)
    kept, undone = uuid.uuid4(), uuid.uuid4()

    async with database.write_transaction() as conn:
        await raw.execute(conn, INSERT_USER, kept, "UTC")
    with pytest.raises(ValueError, match="refused"):
        async with database.write_transaction() as conn:
            await raw.execute(conn, INSERT_USER, undone, "UTC")
            raise ValueError("refused")

    assert (await _user_count(clean_db, kept), await _user_count(clean_db, undone)) == (1, 0)
    assert clean_db.sync_engine.pool.checkedout() == 0  # both went back to the pool


async def test_a_write_transaction_savepoint_undoes_only_its_own_statements(
    clean_db: AsyncEngine,
) -> None:
    kept, undone = uuid.uuid4(), uuid.uuid4()

    async with Database(clean_db).write_transaction() as conn:
        await raw.execute(conn, INSERT_USER, kept, "UTC")
        with pytest.raises(ValueError):
            async with conn.begin_nested():
                await raw.execute(conn, INSERT_USER, undone, "UTC")
                raise ValueError("undo this one")

    assert (await _user_count(clean_db, kept), await _user_count(clean_db, undone)) == (1, 0)


async def test_a_cancelled_write_transaction_discards_its_connection(
    clean_db: AsyncEngine,
) -> None:
    database = Database(clean_db)
    user = uuid.uuid4()
    connections: list[object] = []

    async def slow_insert() -> None:
        async with database.write_transaction() as conn:
            connections.append(conn.driver)
            await raw.execute(conn, INSERT_USER, user, "UTC")
            await raw.execute(conn, "SELECT pg_sleep(10) AS slept")

    task = asyncio.create_task(slow_insert())
    while not connections:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await _user_count(clean_db, user) == 0
    assert connections[0].is_closed()  # type: ignore[attr-defined]
    assert clean_db.sync_engine.pool.checkedout() == 0
    async with database.write_transaction() as conn:  # the pool still serves
        assert await raw.fetch_value(conn, "SELECT 1 AS one") == 1


class _GreenletCounter:
    """Counts the pool operations db.engine runs in a greenlet."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        spawn = db_engine.greenlet_spawn

        async def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return await spawn(fn, *args, **kwargs)

        monkeypatch.setattr(db_engine, "greenlet_spawn", counting)


async def test_a_write_transaction_gives_its_connection_back_without_a_greenlet(
    clean_db: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(clean_db)
    counter = _GreenletCounter(monkeypatch)
    users = [uuid.uuid4() for _ in range(5)]

    for user in users:
        async with database.write_transaction() as conn:
            await raw.execute(conn, INSERT_USER, user, "UTC")

    assert counter.calls == len(users)  # the checkouts only
    assert [await _user_count(clean_db, user) for user in users] == [1] * 5
    assert clean_db.sync_engine.pool.checkedout() == 0


@pytest.mark.filterwarnings("error")
async def test_connections_beyond_the_pool_size_are_closed_in_a_greenlet(
    database_url: str, clean_db: AsyncEngine, caplog: Any
) -> None:
    engine = create_async_engine(db_engine.async_url(database_url), pool_size=1, max_overflow=2)
    database = Database(engine)
    users = [uuid.uuid4() for _ in range(3)]
    opened: list[Any] = []

    async def insert(user: uuid.UUID) -> None:
        async with database.write_transaction() as conn:
            opened.append(conn.driver)
            await raw.execute(conn, INSERT_USER, user, "UTC")
            await raw.execute(conn, "SELECT pg_sleep(0.2) AS slept")

    try:
        with caplog.at_level(logging.WARNING):
            await asyncio.gather(*(insert(user) for user in users))
        pool = engine.sync_engine.pool
        assert (pool.checkedout(), pool.checkedin()) == (0, 1)
        assert len({id(driver) for driver in opened}) == 3
        assert sum(driver.is_closed() for driver in opened) == 2  # the overflow ones
    finally:
        await engine.dispose()
    assert [await _user_count(clean_db, user) for user in users] == [1] * 3
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
