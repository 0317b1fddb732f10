"""db.raw: statements sent straight to asyncpg belong to the SQLAlchemy connection's
transaction, and read and write values as SQLAlchemy's own statements do."""

import uuid

import pytest
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import raw

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
