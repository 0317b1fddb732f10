"""Engine setup: one async engine per process, asyncpg underneath."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import URL, event, make_url, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import PoolProxiedConnection, QueuePool
from sqlalchemy.util import greenlet_spawn

from db import faults, raw

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
    engine = create_async_engine(
        async_url(database_url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        # A failed statement's error text would otherwise carry its bound values (a
        # learner's handle, an attempt's payload) into the server log with the traceback.
        hide_parameters=True,
        connect_args={
            "server_settings": {
                "statement_timeout": str(statement_timeout_ms),
                "application_name": "learntrack",
            }
        },
    )
    event.listen(engine.sync_engine, "handle_error", _fault_is_disconnect)
    return engine


def _fault_is_disconnect(context: ExceptionContext) -> None:
    """Any fault of the database's (db/faults.py: a restart, a failover, a dead socket) counts
    as a disconnect: SQLAlchemy then drops that connection and every older pooled one, so no
    request after a restart is handed a dead connection. Its own test knows fewer errors."""
    if faults.classify(context.original_exception) == "unavailable":
        context.is_disconnect = True


async def _discard(pooled: Any) -> None:
    """Close a pooled connection for good and give its slot back to the pool."""
    await greenlet_spawn(pooled.invalidate)
    await greenlet_spawn(pooled.close)


async def _check_in(engine: AsyncEngine, pooled: PoolProxiedConnection) -> None:
    """Give a connection whose transaction ended back to the pool, without a greenlet
    while the pool has room for it.

    SQLAlchemy's asyncio adapter runs pool operations in a greenlet because
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
        without SQLAlchemy's Connection and Transaction objects (less CPU per transaction,
        for the hot write paths). A connection whose transaction could not be
        ended cleanly (an error from COMMIT or ROLLBACK, a cancellation) is discarded, never
        returned to the pool."""
        pooled, transaction = await self._begin_raw()
        clean = False
        try:
            try:
                yield raw.Transaction(pooled.driver_connection, self.engine.sync_engine)
            except Exception:
                await transaction.rollback()
                clean = True
                raise
            try:
                await transaction.commit()
            except asyncpg.InternalClientError as error:
                # The protocol refused to send COMMIT: an earlier operation on this
                # connection broke off (the server went away under it). Nothing committed.
                raise faults.ConnectionBroken("the connection broke before COMMIT") from error
            clean = True
        finally:
            if clean:
                await _check_in(self.engine, pooled)
            else:
                # Shielded, so that a cancellation cannot leave the connection half-closed.
                await asyncio.shield(_discard(pooled))

    async def _begin_raw(self) -> tuple[PoolProxiedConnection, Any]:
        """A pooled connection with its transaction begun. A connection that cannot even
        begin is dead (the server restarted since it was pooled, or an earlier operation on
        it broke off): it is discarded and, since nothing ran yet, another is taken, once."""
        for last_try in (False, True):
            pooled = await greenlet_spawn(self.engine.sync_engine.raw_connection)
            driver = pooled.driver_connection
            assert driver is not None, "a checked-out connection has its driver connection"
            transaction = driver.transaction()
            try:
                await transaction.start()
                return pooled, transaction
            except Exception as error:
                await asyncio.shield(_discard(pooled))
                dead = faults.classify(error) is not None or isinstance(
                    error, asyncpg.InternalClientError
                )
                if last_try or not dead:
                    raise
        raise AssertionError("unreachable")

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
