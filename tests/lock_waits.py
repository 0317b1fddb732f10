"""Asserting "does not wait for that transaction" without a timeout.

A statement blocked on a lock shows in pg_stat_activity, with the blocker in
pg_blocking_pids(), for as long as the blocker holds on, however slow the machine: polling
for it is deterministic where "finishes within N seconds" fails a correct but slow run.
"""

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

T = TypeVar("T")
# Only against hanging forever if the check itself breaks; never reached by a correct run.
HANG_DEADLINE_SECONDS = 120.0

BLOCKED = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE wait_event_type = 'Lock' AND CAST(:holder AS int) = ANY(pg_blocking_pids(pid))"
)


async def backend_pid(conn: AsyncConnection) -> int:
    """The PostgreSQL backend serving ``conn``."""
    return int(await conn.scalar(text("SELECT pg_backend_pid()")))


async def never_blocked_by(engine: AsyncEngine, holder: int, work: Awaitable[T]) -> T:
    """Await ``work``, failing as soon as any statement waits for a lock ``holder`` holds."""
    task = asyncio.ensure_future(work)
    deadline = asyncio.get_running_loop().time() + HANG_DEADLINE_SECONDS
    while not task.done():
        # A fresh transaction per look: pg_stat_activity is a snapshot per transaction.
        async with engine.connect() as observer:
            blocked = await observer.scalar(BLOCKED, {"holder": holder})
        if blocked or asyncio.get_running_loop().time() > deadline:
            task.cancel()
            # Settled before failing, so the caller's connection is idle (if broken).
            await asyncio.wait([task])
            raise AssertionError(
                f"waited for a lock held by backend {holder}" if blocked else "hung"
            )
        await asyncio.wait([task], timeout=0.01)
    return task.result()
