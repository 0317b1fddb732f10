"""The floor: the statements the domain sends for an attempt, replayed by bare asyncpg.

The SQL is not copied by hand: at the start of a run, ``record`` lets the domain record a
typical solved and a typical unsolved attempt (new ids, not the day's first solve, so no
streak write) in a transaction that is rolled back, and captures every statement
SQLAlchemy or ``db.raw`` hands to asyncpg, with its parameters. For each attempt the
floor sends exactly the statements of the matching recording, as prepared statements,
between BEGIN and COMMIT, with only the keys changed: the learner, a new attempt id, a
random task's placement, and the time. So it stays the domain's own SQL while the domain
changes, and no Python but asyncpg's runs between two statements.
"""

import contextlib
import uuid
from collections.abc import AsyncIterator, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

import attempt_dataset
import page_dataset
from db import engine as db_engine
from db import raw
from domain import attempts, outcomes
from gql import settings


@dataclass(frozen=True)
class Recording:
    """One attempt as the domain sent it: statements and parameters, and the keys in them."""

    statements: list[tuple[str, tuple[Any, ...]]]
    outcome: str  # what the attempt stored for replays, as JSON text
    user_id: uuid.UUID
    attempt_id: uuid.UUID
    task: attempt_dataset.Placement
    now: datetime
    day: date

    @property
    def sql(self) -> list[str]:
        return [statement for statement, _ in self.statements]


@dataclass(frozen=True)
class Recordings:
    """A typical solved and a typical unsolved attempt: the domain sends different SQL."""

    solved: Recording
    unsolved: Recording

    @property
    def sql(self) -> dict[str, list[str]]:
        return {"solved": self.solved.sql, "unsolved": self.unsolved.sql}


async def record(
    engine: AsyncEngine, user_id: uuid.UUID, tasks: Sequence[attempt_dataset.Placement]
) -> Recordings:
    """Record typical attempts through the domain, in one transaction rolled back.

    A first solve makes the day active, so the solved attempt recorded after it does not
    write the streak (which happens once per learner and day).
    """
    captured: list[tuple[str, tuple[Any, ...]]] = []

    def capture(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        captured.append((statement, tuple(parameters)))

    now = datetime.now(UTC)
    recordings = []
    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with (
            _raw_captured(captured),
            db_engine.Database(engine).rolled_back() as conn,
        ):
            for task, solved in zip(tasks[:3], (True, True, False), strict=True):
                captured.clear()
                attempt = attempts.AttemptInput(
                    id=uuid.uuid4(),
                    task_id=task.task_id,
                    tries=2,
                    time_spent_ms=4_321,
                    solved=solved,
                    occurred_at=now,
                    source="web",
                )
                outcome = await attempts.record_attempt(
                    conn,
                    user_id=user_id,
                    attempt=attempt,
                    now=now,
                    policy=settings.Settings().attempt_policy,
                )
                document = outcomes.to_json(outcome)
                keys = (user_id, attempt.id, task, now, now.date())
                recordings.append(Recording(list(captured), document, *keys))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    return Recordings(solved=recordings[1], unsolved=recordings[2])


@contextlib.asynccontextmanager
async def _raw_captured(captured: list[tuple[str, tuple[Any, ...]]]) -> AsyncIterator[None]:
    # Statements the domain sends through db.raw go to asyncpg without SQLAlchemy's events.
    fetch, execute = raw.fetch, raw.execute

    async def capturing_fetch(conn: Any, sql: str, *args: Any) -> list[Any]:
        captured.append((sql, args))
        return await fetch(conn, sql, *args)

    async def capturing_execute(conn: Any, sql: str, *args: Any) -> None:
        captured.append((sql, args))
        await execute(conn, sql, *args)

    raw.fetch, raw.execute = capturing_fetch, capturing_execute
    try:
        yield
    finally:
        raw.fetch, raw.execute = fetch, execute


class FloorClient:
    """One learner on one asyncpg connection, replaying the recording with new keys."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        user_id: uuid.UUID,
        tasks: Sequence[attempt_dataset.Placement],
        recordings: Recordings,
    ) -> None:
        self.conn = conn
        self.user_id = user_id
        self.tasks = tasks
        self.recordings = recordings

    @classmethod
    async def connect(
        cls,
        database_url: str,
        user_id: uuid.UUID,
        tasks: Sequence[attempt_dataset.Placement],
        recordings: Recordings,
    ) -> "FloorClient":
        conn = await asyncpg.connect(page_dataset.asyncpg_dsn(database_url))
        return cls(conn, user_id, tasks, recordings)

    async def submit(self) -> None:
        calls = self._calls(attempt_dataset.draw(self.tasks), datetime.now(UTC))
        conn = self.conn
        async with conn.transaction():
            for statement, parameters in calls:
                await conn.fetch(statement, *parameters)

    def _calls(
        self, attempt: attempt_dataset.Draw, now: datetime
    ) -> list[tuple[str, tuple[Any, ...]]]:
        # Built before BEGIN. Values are swapped by equality: the recording's keys are
        # UUIDs, a timestamp and a date, none equal to any other parameter.
        recordings = self.recordings
        recorded = recordings.solved if attempt.solved else recordings.unsolved
        swap: dict[Any, Any] = {
            recorded.user_id: self.user_id,
            recorded.attempt_id: attempt.id,
            recorded.task.task_id: attempt.task.task_id,
            recorded.task.theme_id: attempt.task.theme_id,
            recorded.task.section_id: attempt.task.section_id,
            recorded.task.course_id: attempt.task.course_id,
            recorded.now: now,
            recorded.day: now.date(),  # the bench's users live in UTC
        }
        return [
            (statement, tuple(_swapped(value, swap) for value in parameters))
            for statement, parameters in recorded.statements
        ]

    async def close(self) -> None:
        await self.conn.close()


def _swapped(value: Any, swap: dict[Any, Any]) -> Any:
    return swap.get(value, value) if isinstance(value, Hashable) else value
