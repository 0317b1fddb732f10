"""The lock-wait check of tests/lock_waits.py sees a real wait, so passing it means something."""

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.lock_waits import backend_pid, never_blocked_by

LOCK = text("SELECT pg_advisory_xact_lock(424242)")


async def test_a_statement_waiting_for_the_holder_fails_the_check(engine: AsyncEngine) -> None:
    async with engine.connect() as holder, engine.connect() as waiter:
        await holder.execute(LOCK)
        with pytest.raises(AssertionError, match="waited for a lock held by backend"):
            await never_blocked_by(engine, await backend_pid(holder), waiter.execute(LOCK))
        await waiter.invalidate()  # its statement was cancelled mid-flight
        await holder.rollback()


async def test_a_statement_on_other_rows_passes_the_check(engine: AsyncEngine) -> None:
    async with engine.connect() as holder, engine.connect() as other:
        await holder.execute(LOCK)
        result = await never_blocked_by(
            engine, await backend_pid(holder), other.scalar(text("SELECT 1"))
        )
        await holder.rollback()

    assert result == 1
