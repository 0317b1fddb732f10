"""Batch maintenance run from the CLI: recompute derived state, backfill badges."""

import sys
import uuid
from collections import Counter
from collections.abc import Sequence

from tqdm import tqdm

from db import content_queries
from db import engine as db_engine
from domain import badge_backfill, recompute, streaks

BATCH_SIZE = 200


def _batches(items: Sequence[uuid.UUID], size: int) -> list[Sequence[uuid.UUID]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def run_recompute(
    database_url: str,
    *,
    user_id: uuid.UUID | None,
    check: bool,
    batch_size: int = BATCH_SIZE,
    policy: streaks.StreakPolicy = streaks.DEFAULT_POLICY,
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
                    drifted += await _check_batch(database, batch, policy)
                else:
                    async with database.transaction() as conn:
                        await recompute.rebuild_users(conn, user_ids=batch, policy=policy)
                bar.update(len(batch))
    finally:
        await database.dispose()
    return drifted


async def _check_batch(
    database: db_engine.Database, batch: Sequence[uuid.UUID], policy: streaks.StreakPolicy
) -> int:
    async with database.rolled_back() as conn:
        found = await recompute.check_users(conn, user_ids=batch, policy=policy)
    for drift in found:
        sys.stdout.write(drift.describe() + "\n")
    return len(found)


async def run_backfill(
    database_url: str,
    *,
    rule_id: uuid.UUID | None,
    dry_run: bool,
    after: uuid.UUID | None,
    batch_size: int = BATCH_SIZE,
    policy: streaks.StreakPolicy = streaks.DEFAULT_POLICY,
) -> Counter[str]:
    """Award badges retroactively, a batch of learners per transaction; returns counts by key.

    Learners go in id order and each batch commits, so an interrupted run resumes with
    ``after`` = the last learner printed; awarding twice is impossible anyway.
    """
    database = db_engine.Database(db_engine.create_engine(database_url, pool_size=1))
    totals: Counter[uuid.UUID] = Counter()
    try:
        users = await database.read(badge_backfill.list_learners, after=after)
        rule_ids = [rule_id] if rule_id else None
        with tqdm(total=len(users), unit="learner", file=sys.stderr, disable=None) as bar:
            for batch in _batches(users, batch_size):
                context = database.rolled_back() if dry_run else database.transaction()
                async with context as conn:
                    result = await badge_backfill.backfill_users(
                        conn, user_ids=batch, rule_ids=rule_ids, dry_run=dry_run, policy=policy
                    )
                totals.update(result.awards)
                bar.update(len(batch))
                bar.set_postfix_str(f"last learner {batch[-1]}")
        if not dry_run:
            # Every learner after ``after`` is done (and those before, by the run resumed).
            async with database.transaction() as conn:
                await badge_backfill.mark_backfilled(conn, rule_ids=rule_ids)
        names = await database.read(content_queries.badges_by_id, list(totals))
    finally:
        await database.dispose()
    return Counter({row.key: totals[row.id] for row in names if row})
