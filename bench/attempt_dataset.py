"""The attempt benchmark's data: what learners submit, and a pre-filled attempt table.

The course and the users are the course page's (``page_dataset.load``); this module adds
the random attempts the clients send and the set-based preload of ``user_task_attempt``.
"""

import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

SOLVED_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class Placement:
    task_id: uuid.UUID
    theme_id: uuid.UUID
    section_id: uuid.UUID
    course_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Draw:
    """One attempt a learner submits: a new id on a random active task."""

    id: uuid.UUID
    task: Placement
    solved: bool
    tries: int
    time_spent_ms: int


def draw(tasks: Sequence[Placement], solved_share: float = SOLVED_SHARE) -> Draw:
    """A new attempt on a random task, solved with probability ``solved_share``."""
    return Draw(
        id=uuid.uuid4(),
        task=random.choice(tasks),
        solved=random.random() < solved_share,
        tries=random.randint(1, 3),
        time_spent_ms=random.randint(1_000, 60_000),
    )


async def list_active_tasks(conn: asyncpg.Connection) -> list[Placement]:
    rows = await conn.fetch(
        "SELECT t.id, t.theme_id, th.section_id, s.course_id"
        " FROM task t JOIN theme th ON th.id = t.theme_id JOIN section s ON s.id = th.section_id"
        " WHERE t.active ORDER BY t.id"
    )
    return [Placement(*row) for row in rows]


async def list_users(conn: asyncpg.Connection) -> list[uuid.UUID]:
    """Every user: the learners (progress on about half the tasks) first, then the visitors."""
    rows = await conn.fetch("SELECT id FROM users ORDER BY handle, id")
    return [row["id"] for row in rows]


async def count_attempts(conn: asyncpg.Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM user_task_attempt")
    return count


async def clear_attempts(conn: asyncpg.Connection) -> None:
    """Empty the attempt table (the derived tables keep what they counted; no run reads them).

    DELETE, not TRUNCATE: user_badge references the table; the next VACUUM reclaims the space.
    """
    await conn.execute("DELETE FROM user_task_attempt")


# Row g goes to user g mod |users| and task (g div |users|) mod |tasks|: users interleave
# as live traffic does, and the learners the clients act as get their share too. A few
# columns vary with g; the outcome is one real stored outcome, so rows are as wide as
# live ones (a ~1.2 kB outcome: under the TOAST threshold, stored inline like theirs).
_PRELOAD = """
INSERT INTO user_task_attempt (user_id, id, task_id, theme_id, section_id, course_id, tries,
  time_spent_ms, solved, payload, source, occurred_at, local_day, created_at, fingerprint,
  outcome)
SELECT u.id, gen_random_uuid(), t.id, t.theme_id, t.section_id, t.course_id, 1 + g % 3,
  1000 + g % 60000, g % 2 = 0, 'null'::jsonb, 'web', at, (at AT TIME ZONE 'UTC')::date, at,
  encode(sha256(int8send(g)), 'hex'), $3::jsonb
FROM (
  SELECT g, now() - (g * 7919 % 2592000) * interval '1 second' AS at,
    g % (SELECT count(*) FROM users) AS user_n,
    g / (SELECT count(*) FROM users) % (SELECT count(*) FROM task WHERE active) AS task_n
  FROM generate_series($1::bigint, $2::bigint - 1) g
) s
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM users) u ON u.n = s.user_n
JOIN (
  SELECT t.id, t.theme_id, th.section_id, se.course_id,
    row_number() OVER (ORDER BY t.id) - 1 AS n
  FROM task t JOIN theme th ON th.id = t.theme_id JOIN section se ON se.id = th.section_id
  WHERE t.active
) t ON t.n = s.task_n
"""


@dataclass(frozen=True)
class Fill:
    added: int
    insert_s: float
    vacuum_s: float
    checkpoint_s: float


async def fill_attempts(conn: asyncpg.Connection, rows: int, outcome: str) -> Fill:
    """Add preloaded attempts until the table holds ``rows``.

    Then VACUUM ANALYZE (statistics and visibility map as autovacuum would leave them) and
    a checkpoint, so the load's dirty pages are not written out during the next run.
    """
    started = time.perf_counter()
    present = await count_attempts(conn)
    added = max(0, rows - present)
    if added:
        await conn.execute(_PRELOAD, present, rows, outcome)
    inserted = time.perf_counter()
    await conn.execute("VACUUM ANALYZE")
    vacuumed = time.perf_counter()
    try:
        await conn.execute("CHECKPOINT")
    except asyncpg.InsufficientPrivilegeError:
        pass  # an external server's role may not checkpoint; the run is just noisier
    done = time.perf_counter()
    return Fill(added, inserted - started, vacuumed - inserted, done - vacuumed)
