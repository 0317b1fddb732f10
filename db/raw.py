"""Statements sent straight to asyncpg, on the driver connection under a SQLAlchemy one.

For hot write paths: SQLAlchemy's ``execute`` costs several times asyncpg's own Python per
statement (greenlet switches, parameter and result processing), and recording an attempt
sends over a dozen (measurements: docs/performance.md). The statements run in the SQLAlchemy
connection's transaction, so the caller's commit, rollback and savepoints cover them.
``Transaction`` (``Database.write_transaction``) goes further for paths that send nothing
else: no SQLAlchemy Connection or Transaction at all.
SQL uses asyncpg's ``$n`` parameters; asyncpg prepares each text once per connection.
Rows are named tuples, read by attribute (``row.timezone``) as SQLAlchemy's rows are.
"""

from collections import namedtuple
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncConnection


class Transaction:
    """A pooled connection's asyncpg connection in a transaction of its own, without
    SQLAlchemy's Connection around it (``Database.write_transaction``): for write paths
    whose statements all go through this module."""

    __slots__ = ("driver", "sync_engine")

    def __init__(self, driver: Any, sync_engine: Engine) -> None:
        self.driver = driver
        self.sync_engine = sync_engine  # the engine whose pool lent the connection

    def begin_nested(self) -> AbstractAsyncContextManager[Any]:
        """A savepoint: released on success, rolled back (and the error raised) on error."""
        context: AbstractAsyncContextManager[Any] = self.driver.transaction()
        return context


# What the statements here run on: a SQLAlchemy connection in a transaction, or the above.
Connection = AsyncConnection | Transaction


async def _driver(conn: AsyncConnection) -> Any:
    sync = conn.sync_connection
    if sync is None or not sync.in_transaction():
        # Outside a SQLAlchemy transaction asyncpg would autocommit each statement, and a
        # later commit() on ``conn`` would not cover it.
        raise RuntimeError("raw statements need the connection to be in a transaction")
    # In a transaction ``connection`` is the checked-out connection (or raises if it was
    # invalidated): no I/O, so no need for get_raw_connection()'s greenlet.
    pooled = sync.connection
    adapted: Any = pooled.dbapi_connection
    if adapted._transaction is None:
        # SQLAlchemy's asyncpg adapter sends BEGIN lazily, just before its first statement
        # (AsyncAdapt_asyncpg_cursor._prepare_and_execute); do the same, so that its commit
        # and rollback apply to what is sent here.
        await adapted._start_transaction()
    return pooled.driver_connection


@cache
def _row_class(columns: tuple[str, ...]) -> Any:
    return namedtuple("Row", columns)


def row_maker(columns: Iterable[str]) -> Callable[[Iterable[Any]], Any]:
    """What builds a row of these columns as a named tuple (read by attribute, several times
    faster than a SQLAlchemy Row); one class per set of columns."""
    make: Callable[[Iterable[Any]], Any] = _row_class(tuple(columns))._make
    return make


async def fetch(conn: Connection, sql: str, *args: Any) -> list[Any]:
    """Every row ``sql`` returns."""
    driver = conn.driver if isinstance(conn, Transaction) else await _driver(conn)
    records = await driver.fetch(sql, *args)
    if not records:
        return []
    make = row_maker(records[0].keys())
    return [make(record.values()) for record in records]


async def fetch_optional(conn: Connection, sql: str, *args: Any) -> Any | None:
    """The only row ``sql`` returns, or None; more than one row is an error."""
    rows = await fetch(conn, sql, *args)
    if len(rows) > 1:
        raise LookupError(f"expected at most one row, got {len(rows)}")
    return rows[0] if rows else None


async def fetch_one(conn: Connection, sql: str, *args: Any) -> Any:
    """The only row ``sql`` returns; none or more than one is an error."""
    rows = await fetch(conn, sql, *args)
    if len(rows) != 1:
        raise LookupError(f"expected one row, got {len(rows) or 'none'}")
    return rows[0]


async def fetch_value(conn: Connection, sql: str, *args: Any) -> Any:
    """The first column of the only row ``sql`` returns, or None without a row."""
    row = await fetch_optional(conn, sql, *args)
    return None if row is None else row[0]


async def execute(conn: Connection, sql: str, *args: Any) -> None:
    """Run ``sql`` for its effect."""
    driver = conn.driver if isinstance(conn, Transaction) else await _driver(conn)
    await driver.execute(sql, *args)


def jsonb(value: Any) -> str:
    """``value`` as a json/jsonb parameter: SQLAlchemy's asyncpg dialect gives every
    connection codecs that take JSON text and return decoded values. None is JSON null."""
    return orjson.dumps(value).decode()
