"""db.raw: statements sent straight to asyncpg belong to the SQLAlchemy connection's
transaction, and read and write values as SQLAlchemy's own statements do."""

import asyncio
import uuid

import pytest
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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
