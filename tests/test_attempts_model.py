"""Stateful property test: random submit / replay / conflict / content change / clock steps.

After every step the derived tables must equal both the SQL recompute and a plain Python
model computed from the accepted attempts and the current content.
"""

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db import engine as db_engine
from db import migrate, models
from domain import attempts, recompute, streaks
from domain.errors import AttemptRejected
from tests.factories import make_course

POLICY = attempts.AttemptPolicy()
TIMEZONES = ["Pacific/Kiritimati", "America/New_York"]


@dataclass(frozen=True)
class Recorded:
    user: uuid.UUID
    input: attempts.AttemptInput
    local_day: date
    in_grace: bool  # received within the streak grace period: it can make a streak day


def _expected(
    recorded: list[Recorded], placement: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID, bool]]
):  # type: ignore[no-untyped-def]
    """The derived state as plain Python: what the tables must hold."""
    states: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]] = {}
    for r in recorded:
        s = states.setdefault(
            (r.user, r.input.task_id),  # type: ignore[arg-type]
            {"solved": False, "success": 0, "failure": 0, "tries": 0, "time": 0},
        )
        s["solved"] = s["solved"] or r.input.solved
        s["success" if r.input.solved else "failure"] += 1
        s["tries"] += r.input.tries
        s["time"] += r.input.time_spent_ms
    task_states = {
        key: (
            "solved" if s["solved"] else "in_progress",
            s["success"],
            s["failure"],
            s["tries"],
            s["time"],
        )
        for key, s in states.items()
    }
    totals_section: dict[uuid.UUID, int] = defaultdict(int)
    totals_course: dict[uuid.UUID, int] = defaultdict(int)
    for section, course, active in placement.values():
        totals_section[section] += active
        totals_course[course] += active
    section_rows: dict[tuple[uuid.UUID, uuid.UUID], list[int]] = {}
    course_rows: dict[tuple[uuid.UUID, uuid.UUID], list[int]] = {}
    for (user, task), (status, success, failure, _tries, time) in task_states.items():
        section, course, active = placement[task]
        for rows, scope in ((section_rows, section), (course_rows, course)):
            row = rows.setdefault((user, scope), [0, 0, 0])
            row[0] += status == "solved" and active
            row[1] += success + failure
            row[2] += time
    daily: dict[tuple[uuid.UUID, date], list[int]] = {}
    for r in recorded:
        row = daily.setdefault((r.user, r.local_day), [0, 0, 0])
        row[0] += 1
        row[1] += r.input.solved
        row[2] += r.input.time_spent_ms
    users = {r.user for r in recorded}
    streak_rows = {}
    for user in users:
        days = [r.local_day for r in recorded if r.user == user and r.input.solved and r.in_grace]
        found = streaks.fold(days, (), POLICY.streak)
        if found.last_active_day is not None:
            streak_rows[user] = (found.run, found.longest, found.last_active_day)
    return {
        "task_states": task_states,
        "sections": {k: (v[0], totals_section[k[1]], v[1], v[2]) for k, v in section_rows.items()},
        "courses": {k: (v[0], totals_course[k[1]], v[1], v[2]) for k, v in course_rows.items()},
        "daily": {k: tuple(v) for k, v in daily.items()},
        "streaks": streak_rows,
    }


async def _stored(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:

        async def rows(sql: str) -> list[Any]:
            return list((await conn.execute(text(sql))).all())

        return {
            "task_states": {
                (r.user_id, r.task_id): (
                    r.status,
                    r.success_count,
                    r.failure_count,
                    r.total_tries,
                    r.total_time_ms,
                )
                for r in await rows("SELECT * FROM user_task_state")
            },
            "sections": {
                (r.user_id, r.section_id): (
                    r.solved_tasks,
                    r.total_tasks,
                    r.attempts_count,
                    r.total_time_ms,
                )
                for r in await rows("SELECT * FROM user_section_progress")
            },
            "courses": {
                (r.user_id, r.course_id): (
                    r.solved_tasks,
                    r.total_tasks,
                    r.attempts_count,
                    r.total_time_ms,
                )
                for r in await rows("SELECT * FROM user_course_progress")
            },
            "daily": {
                (r.user_id, r.day): (r.attempts, r.solved, r.time_spent_ms)
                for r in await rows("SELECT * FROM user_daily_activity")
            },
            "streaks": {
                r.user_id: (r.current, r.longest, r.last_active_day)
                for r in await rows("SELECT * FROM user_streak")
            },
        }


class AttemptMachine(RuleBasedStateMachine):
    loop: asyncio.AbstractEventLoop
    engine: AsyncEngine

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    @initialize()
    def start(self) -> None:
        tables = ", ".join(t.name for t in models.Base.metadata.sorted_tables)
        self.users = [uuid.uuid4() for _ in TIMEZONES]
        self.now = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)

        async def setup() -> Any:
            async with self.engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {tables} CASCADE"))
                for user, tz in zip(self.users, TIMEZONES, strict=True):
                    await conn.execute(
                        text("INSERT INTO users (id, timezone) VALUES (:u, :tz)"),
                        {"u": user, "tz": tz},
                    )
                return await make_course(conn, sections=2, themes=2, tasks=2)

        self.tree = self.run(setup())
        self.recorded: list[Recorded] = []
        self.outcomes: dict[tuple[uuid.UUID, uuid.UUID], Any] = {}

    async def _placement(self) -> dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID, bool]]:
        async with self.engine.connect() as conn:
            result = await conn.execute(
                text(
                    "SELECT t.id, th.section_id, s.course_id, t.active FROM task t"
                    " JOIN theme th ON th.id = t.theme_id JOIN section s ON s.id = th.section_id"
                )
            )
            return {r.id: (r.section_id, r.course_id, r.active) for r in result}

    def _record(self, user: uuid.UUID, attempt: attempts.AttemptInput) -> Any:
        async def go() -> Any:
            try:
                async with self.engine.begin() as conn:
                    return await attempts.record_attempt(
                        conn, user_id=user, attempt=attempt, now=self.now, policy=POLICY
                    )
            except AttemptRejected as error:
                return error

        return self.run(go())

    @rule(
        user=st.integers(0, 1),
        task=st.integers(0, 7),
        solved=st.booleans(),
        tries=st.integers(1, 4),
        # A few shared values: equal one-try times in user_totals' sorted list.
        time_ms=st.sampled_from([500, 1000]) | st.integers(0, 90_000),
        minutes_ago=st.integers(0, 60 * 24 * 6),
    )
    def submit(
        self, user: int, task: int, solved: bool, tries: int, time_ms: int, minutes_ago: int
    ) -> None:
        attempt = attempts.AttemptInput(
            id=uuid.uuid4(),
            task_id=self.tree.task_ids[task],
            tries=tries,
            time_spent_ms=time_ms,
            solved=solved,
            occurred_at=self.now - timedelta(minutes=minutes_ago),
            source="mobile",
        )
        active = self.run(self._placement())[attempt.task_id][2]
        result = self._record(self.users[user], attempt)
        if not active:
            assert isinstance(result, AttemptRejected) and result.code == "TASK_INACTIVE"
            return
        assert not isinstance(result, AttemptRejected), result
        tz = ZoneInfo(TIMEZONES[user])
        self.recorded.append(
            Recorded(
                self.users[user],
                attempt,
                attempt.occurred_at.astimezone(tz).date(),
                self.now - attempt.occurred_at <= POLICY.streak.grace,
            )
        )
        self.outcomes[(self.users[user], attempt.id)] = result

    @rule(pick=st.integers(0, 10_000))
    def replay(self, pick: int) -> None:
        if not self.recorded:
            return
        chosen = self.recorded[pick % len(self.recorded)]
        result = self._record(chosen.user, chosen.input)
        assert result.replayed is True
        first = self.outcomes[(chosen.user, chosen.input.id)]
        assert result == type(first)(
            **{**{f: getattr(first, f) for f in first.__slots__}, "replayed": True}
        )

    @rule(pick=st.integers(0, 10_000))
    def conflicting_submit(self, pick: int) -> None:
        if not self.recorded:
            return
        chosen = self.recorded[pick % len(self.recorded)]
        changed = attempts.AttemptInput(
            **{
                **{f: getattr(chosen.input, f) for f in chosen.input.__slots__},
                "tries": chosen.input.tries + 1,
            }
        )
        result = self._record(chosen.user, changed)
        assert isinstance(result, AttemptRejected) and result.code == "IDEMPOTENCY_CONFLICT"

    @rule(task=st.integers(0, 7))
    def toggle_task(self, task: int) -> None:
        async def go() -> None:
            async with self.engine.begin() as conn:
                await conn.execute(
                    text("UPDATE task SET active = NOT active WHERE id = :id"),
                    {"id": self.tree.task_ids[task]},
                )

        self.run(go())

    @rule(task=st.integers(0, 7), theme=st.integers(0, 3))
    def move_task(self, task: int, theme: int) -> None:
        async def go() -> None:
            async with self.engine.begin() as conn:
                await conn.execute(
                    text("UPDATE task SET theme_id = :theme WHERE id = :id"),
                    {"id": self.tree.task_ids[task], "theme": self.tree.theme_ids[theme]},
                )

        self.run(go())

    @rule(hours=st.integers(1, 30))
    def advance_clock(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @invariant()
    def derived_state_matches_recompute_and_model(self) -> None:
        if not hasattr(self, "tree"):
            return

        async def check() -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
            async with db_engine.Database(self.engine).rolled_back() as conn:
                users = await recompute.list_users(conn)
                found = await recompute.check_users(conn, user_ids=users)
            placement = await self._placement()
            return found, await _stored(self.engine), _expected(self.recorded, placement)

        found, stored, expected = self.run(check())
        assert [d.describe() for d in found] == []
        assert stored == expected


def test_derived_state_always_equals_recompute_and_model(make_database) -> None:  # type: ignore[no-untyped-def]
    url = make_database()
    migrate.upgrade(url)
    loop = asyncio.new_event_loop()
    engine = db_engine.create_engine(url, pool_size=2)
    AttemptMachine.loop = loop
    AttemptMachine.engine = engine
    try:
        run_state_machine_as_test(
            AttemptMachine,
            settings=settings(
                max_examples=20,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()
