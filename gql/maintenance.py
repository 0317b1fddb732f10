"""Batch maintenance run from the CLI: recompute (rebuild or check) derived per-user state."""

import sys
import uuid
from collections.abc import Sequence

from tqdm import tqdm

from db import engine as db_engine
from domain import recompute

BATCH_SIZE = 200


def _batches(items: Sequence[uuid.UUID], size: int) -> list[Sequence[uuid.UUID]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def run_recompute(
    database_url: str, *, user_id: uuid.UUID | None, check: bool, batch_size: int = BATCH_SIZE
) -> int:
    """Rebuild (or with ``check``, compare) users' derived tables; returns the drifted rows.

    Each batch of users is one transaction: a rebuild commits it, a check rolls it back.
    """
    database = db_engine.Database(db_engine.create_engine(database_url, pool_size=1))
    drifted = 0
    try:
        users = [user_id] if user_id else await database.read(recompute.list_users)
        with tqdm(total=len(users), unit="user", file=sys.stderr, disable=None) as bar:
            for batch in _batches(users, batch_size):
                if check:
                    drifted += await _check_batch(database, batch)
                else:
                    async with database.transaction() as conn:
                        await recompute.rebuild_users(conn, user_ids=batch)
                bar.update(len(batch))
    finally:
        await database.dispose()
    return drifted


async def _check_batch(database: db_engine.Database, batch: Sequence[uuid.UUID]) -> int:
    async with database.rolled_back() as conn:
        found = await recompute.check_users(conn, user_ids=batch)
    for drift in found:
        sys.stdout.write(drift.describe() + "\n")
    return len(found)
