"""What the process can say about its database: pool usage, and whether it is ready to serve."""

import asyncio
from dataclasses import dataclass
from functools import lru_cache

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import QueuePool

from db.engine import Database
from db.migrate import MIGRATIONS_DIR


@dataclass(frozen=True, slots=True)
class PoolStatus:
    size: int
    in_use: int
    idle: int
    overflow: int


@dataclass(frozen=True, slots=True)
class Readiness:
    database_reachable: bool
    applied: tuple[str, ...]
    head: tuple[str, ...]

    @property
    def at_head(self) -> bool:
        return self.database_reachable and set(self.applied) == set(self.head)


def pool_status(database: Database) -> PoolStatus:
    """Connections of this process's pool: configured size, in use, idle, beyond the size."""
    pool = database.engine.pool
    if not isinstance(pool, QueuePool):
        return PoolStatus(size=0, in_use=0, idle=0, overflow=0)  # NullPool & co. keep none.
    # overflow() counts up from -size while the pool fills; only a positive value is overflow.
    return PoolStatus(
        size=pool.size(),
        in_use=pool.checkedout(),
        idle=pool.checkedin(),
        overflow=max(pool.overflow(), 0),
    )


@lru_cache(maxsize=1)
def head_revisions() -> tuple[str, ...]:
    """The head revision(s) of the migration scripts shipped with this code."""
    return tuple(sorted(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads()))


async def applied_revisions(conn: AsyncConnection) -> tuple[str, ...]:
    """The revision(s) recorded in ``alembic_version``; empty for a database never migrated."""
    if not await conn.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL")):
        return ()
    rows = await conn.execute(text("SELECT version_num FROM alembic_version ORDER BY 1"))
    return tuple(row.version_num for row in rows)


async def check_readiness(database: Database, *, timeout_s: float = 2.0) -> Readiness:
    """Whether the database answers within ``timeout_s`` and carries the shipped schema."""
    head = head_revisions()
    try:
        async with asyncio.timeout(timeout_s):
            applied = await database.read(applied_revisions)
    except (SQLAlchemyError, OSError, TimeoutError):
        return Readiness(database_reachable=False, applied=(), head=head)
    return Readiness(database_reachable=True, applied=applied, head=head)
