"""The benchmark's database: a scratch PostgreSQL database holding one large course page.

Everything is loaded with set-based SQL (a handful of statements), so a fresh dataset of
1,000 tasks, 2,000 users and ~100,000 task states takes seconds.
"""

import asyncio
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from db import admin, embedded, migrate
from db import engine as db_engine

SECTIONS = 10
THEMES_PER_SECTION = 5
TASKS_PER_THEME = 20
TOTAL_TASKS = SECTIONS * THEMES_PER_SECTION * TASKS_PER_THEME
USERS = 2_000
USERS_WITH_PROGRESS = 200
SOLVED_SHARE = 0.5


@dataclass(frozen=True)
class Dataset:
    course_id: uuid.UUID
    learners: list[uuid.UUID]  # the users with progress, in a stable order


@dataclass(frozen=True)
class ScratchDatabase:
    url: str  # SQLAlchemy URL, as the server's DATABASE_URL
    postmaster_pid: int | None  # known only for the embedded server, to read its CPU time


def asyncpg_dsn(database_url: str) -> str:
    """A DSN asyncpg accepts; Unix-socket URLs keep their ``?host=/socket/dir``."""
    url = db_engine.async_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@contextmanager
def scratch_database(external_url: str | None) -> Iterator[ScratchDatabase]:
    """A fresh database migrated to head, gone when the block ends."""
    if external_url:
        with _scratch_on(external_url) as url:
            migrate.upgrade(url)
            yield ScratchDatabase(url, None)
        return
    with tempfile.TemporaryDirectory(prefix="learntrack-bench-") as tmp:
        data_dir = Path(tmp) / "pgdata"
        server = embedded.start(data_dir, delete_on_stop=True)
        try:
            url = embedded.ensure_database(server, "learntrack_bench")
            migrate.upgrade(url)
            yield ScratchDatabase(url, _postmaster_pid(data_dir))
        finally:
            server.cleanup()


@contextmanager
def _scratch_on(server_url: str) -> Iterator[str]:
    name = f"learntrack_bench_{uuid.uuid4().hex[:12]}"
    url = asyncio.run(admin.create_database(server_url, name))
    try:
        yield url
    finally:
        asyncio.run(admin.drop_database(server_url, name))


def _postmaster_pid(data_dir: Path) -> int | None:
    # PostgreSQL writes its pid on the first line of postmaster.pid in the data directory.
    try:
        return int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


async def load(database_url: str) -> Dataset:
    """Load the course and the users in one transaction, then refresh planner statistics."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with conn.transaction():
            course_id = await _insert_course(conn)
            await _insert_users(conn)
            await _solve_tasks(conn)
            await _insert_progress(conn, course_id)
        # Outside the transaction: fresh statistics and a visibility map, as a live
        # database would have after autovacuum, so plans are the realistic ones.
        await conn.execute("VACUUM ANALYZE")
        learners = await conn.fetch(
            "SELECT id FROM users WHERE handle LIKE 'learner-%' ORDER BY handle, id"
        )
    finally:
        await conn.close()
    return Dataset(course_id, [row["id"] for row in learners])


async def _insert_course(conn: asyncpg.Connection) -> uuid.UUID:
    course_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO course (key, title, description)"
        " VALUES ('bench', 'Benchmark course', 'One large course page') RETURNING id"
    )
    await conn.execute(
        "INSERT INTO section (key, title, course_id, order_index)"
        " SELECT 'bench/s' || g, 'Section ' || g, $1, g FROM generate_series(1, $2) g",
        course_id,
        SECTIONS,
    )
    await conn.execute(
        "INSERT INTO theme (key, title, section_id, order_index)"
        " SELECT s.key || '/t' || g, 'Theme ' || g, s.id, g"
        " FROM section s, generate_series(1, $2) g WHERE s.course_id = $1",
        course_id,
        THEMES_PER_SECTION,
    )
    # One statement, so the statement-level triggers recount the cached totals once.
    await conn.execute(
        "INSERT INTO task (key, title, type, theme_id, order_index, content, difficulty)"
        " SELECT th.key || '/k' || g, 'Task ' || g, 'text', th.id, g,"
        " jsonb_build_object('question', 'Question ' || g), 1 + g % 5"
        " FROM theme th JOIN section s ON s.id = th.section_id,"
        " generate_series(1, $2) g WHERE s.course_id = $1",
        course_id,
        TASKS_PER_THEME,
    )
    return course_id


async def _insert_users(conn: asyncpg.Connection) -> None:
    # Zero-padded handles sort in creation order: the first USERS_WITH_PROGRESS are learners.
    await conn.execute(
        "INSERT INTO users (id, handle)"
        " SELECT gen_random_uuid(),"
        " CASE WHEN g <= $2 THEN 'learner-' ELSE 'visitor-' END || lpad(g::text, 5, '0')"
        " FROM generate_series(1, $1) g",
        USERS,
        USERS_WITH_PROGRESS,
    )


async def _solve_tasks(conn: asyncpg.Connection) -> None:
    # Volatile expressions in a subquery's select list are drawn once per row (Postgres
    # does not flatten such subqueries), so tries, time and dates vary task by task.
    # Whole seconds: PostgreSQL's JSON trims a fraction's trailing zeros where Python's
    # isoformat() prints six digits, and the two sides should print identical documents.
    await conn.execute(
        "INSERT INTO user_task_state (user_id, task_id, status, success_count, total_tries,"
        " total_time_ms, average_time_ms, first_attempt_at, last_attempt_at, solved_at)"
        " SELECT user_id, task_id, 'solved', 1, tries, ms * tries, ms, at, at, at FROM ("
        "   SELECT u.id AS user_id, t.id AS task_id, 1 + (random() * 3)::int AS tries,"
        "   1000 + (random() * 60000)::int AS ms,"
        "   date_trunc('second', now() - random() * interval '90 days') AS at"
        "   FROM users u CROSS JOIN task t"
        "   WHERE u.handle LIKE 'learner-%' AND random() < $1"
        " ) picked",
        SOLVED_SHARE,
    )


async def _insert_progress(conn: asyncpg.Connection, course_id: uuid.UUID) -> None:
    # Section and course rows agree with the task states, as the write path keeps them.
    await conn.execute(
        "INSERT INTO user_section_progress (user_id, section_id, course_id, solved_tasks,"
        " total_tasks, percent_complete, attempts_count, total_time_ms, average_time_ms,"
        " updated_at)"
        " SELECT ts.user_id, s.id, s.course_id, count(*), s.total_tasks_cached,"
        " round(100.0 * count(*) / s.total_tasks_cached, 2), sum(ts.total_tries),"
        " sum(ts.total_time_ms), sum(ts.total_time_ms) / sum(ts.total_tries), max(ts.solved_at)"
        " FROM user_task_state ts JOIN task t ON t.id = ts.task_id"
        " JOIN theme th ON th.id = t.theme_id JOIN section s ON s.id = th.section_id"
        " WHERE s.course_id = $1 GROUP BY ts.user_id, s.id",
        course_id,
    )
    await conn.execute(
        "INSERT INTO user_course_progress (user_id, course_id, solved_tasks, total_tasks,"
        " percent_complete, attempts_count, total_time_ms, average_time_ms, updated_at)"
        " SELECT sp.user_id, c.id, sum(sp.solved_tasks), c.total_tasks_cached,"
        " round(100.0 * sum(sp.solved_tasks) / c.total_tasks_cached, 2),"
        " sum(sp.attempts_count), sum(sp.total_time_ms),"
        " sum(sp.total_time_ms) / sum(sp.attempts_count), max(sp.updated_at)"
        " FROM user_section_progress sp JOIN course c ON c.id = sp.course_id"
        " WHERE c.id = $1 GROUP BY sp.user_id, c.id",
        course_id,
    )
