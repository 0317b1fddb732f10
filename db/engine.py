"""Engine setup: one async engine per process, asyncpg underneath."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import URL, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import PoolProxiedConnection, QueuePool
from sqlalchemy.util import greenlet_spawn

from db import raw

V = TypeVar("V")


def async_url(database_url: str) -> URL:
    """Normalise ``postgres://``/``postgresql://`` URLs to the asyncpg driver."""
    url = make_url(database_url)
    if url.drivername in ("postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        url = url.set(drivername="postgresql+asyncpg")
    return url


def create_engine(
    database_url: str, *, pool_size: int = 10, statement_timeout_ms: int = 5000
) -> AsyncEngine:
    """An engine whose connections time out statements after ``statement_timeout_ms``."""
    return create_async_engine(
        async_url(database_url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        connect_args={
            "server_settings": {
                "statement_timeout": str(statement_timeout_ms),
                "application_name": "learntrack",
            }
        },
    )


async def _discard(pooled: Any) -> None:
    """Close a pooled connection for good and give its slot back to the pool."""
    await greenlet_spawn(pooled.invalidate)
    await greenlet_spawn(pooled.close)


async def _check_in(engine: AsyncEngine, pooled: PoolProxiedConnection) -> None:
    """Give a connection whose transaction ended back to the pool, without a greenlet
    while the pool has room for it.

    SQLAlchemy's asyncio adapter runs pool operations in a greenlet (~9 µs each) because
    some of them wait. Taking a connection back does not: its reset is a rollback of
    nothing (the adapter saw no transaction) and the put finds room. Only a connection
    beyond the pool's size is closed, which waits. (Checking out has no such safe case
    that can be told from outside: the idle connection it takes may need replacing.)
    """
    pool = engine.sync_engine.pool
    if isinstance(pool, QueuePool) and pool.checkedin() < pool.size():
        pooled.close()
    else:
        await greenlet_spawn(pooled.close)


class Database:
    """The process's engine, as the layers above see it: batched reads and transactions."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def read(self, query: Callable[..., Awaitable[V]], /, *args: Any, **kwargs: Any) -> V:
        """Run one read query on its own pooled connection (safe from concurrent tasks)."""
        async with self.engine.connect() as conn:
            return await query(conn, *args, **kwargs)

    def transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection in a transaction that commits on success and rolls back on error."""
        return self.engine.begin()

    @asynccontextmanager
    async def write_transaction(self) -> AsyncIterator[raw.Transaction]:
        """A transaction for statements sent through ``db.raw`` only: commits on success,
        rolls back on error, like ``transaction()``, on a connection of the same pool, but
        without SQLAlchemy's Connection and Transaction objects (~60 µs of CPU less per
        transaction, for the hot write paths). A connection whose transaction could not be
        ended cleanly (an error from COMMIT or ROLLBACK, a cancellation) is discarded, never
        returned to the pool."""
        pooled = await greenlet_spawn(self.engine.sync_engine.raw_connection)
        clean = False
        try:
            driver = pooled.driver_connection
            assert driver is not None, "a checked-out connection has its driver connection"
            transaction = driver.transaction()
            await transaction.start()
            try:
                yield raw.Transaction(driver, self.engine.sync_engine)
            except Exception:
                await transaction.rollback()
                clean = True
                raise
            await transaction.commit()
            clean = True
        finally:
            if clean:
                await _check_in(self.engine, pooled)
            else:
                # Shielded, so that a cancellation cannot leave the connection half-closed.
                await asyncio.shield(_discard(pooled))

    @asynccontextmanager
    async def rolled_back(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction that is always rolled back (checks, dry runs)."""
        async with self.engine.connect() as conn:
            transaction = await conn.begin()
            try:
                yield conn
            finally:
                await transaction.rollback()

    async def is_up(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            async with self.engine.connect() as conn:
                return (await conn.execute(text("SELECT 1"))).scalar() == 1
        except (SQLAlchemyError, OSError):
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
