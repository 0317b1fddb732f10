"""What badge awarding does per attempt: rules looked up and evaluated, SQL sent, time by phase.

One learner submits attempts one at a time through the domain layer (untimed by the load
runs: this is a separate pass) while the awarding functions are wrapped to count and time
what they do. The wrappers are module attributes swapped in for the pass and restored
after; the measured runs never see them. The server runs the same code, so its attempts
look up and evaluate the same rules.
"""

import gc
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import asyncpg.connection
import asyncpg.prepared_stmt
from sqlalchemy.ext.asyncio import AsyncEngine

import attempt_clients
import attempt_dataset
import attempt_sides
import loadgen
from db import badge_queries
from domain import badge_awards, badge_rules
from gql import settings

WARM_UP = 10  # attempts before counting: prepared statements, pool, caches

# The statement of badge_awards.event_facts (db.badge_queries): the facts the candidate
# rules read and which of their awards the learner holds, sent when there is a candidate.
FACT_QUERIES = {"event_facts": "facts"}
# Phases of badge_awards.award_for_attempt, in the order it runs them; "rest" is what the
# others leave of the step (building Facts, collecting the results, the wrappers).
PHASES = (
    "rule index",
    "parse criteria",
    *FACT_QUERIES.values(),
    "evaluate",
    "insert awards",
    "rest",
)


@dataclass
class Census:
    active_rules: int
    attempts: int = 0
    solving: int = 0  # attempts that ran award_for_attempt
    statements: int = 0  # every SQL statement of the attempts (BEGIN/COMMIT not included)
    badge_statements: int = 0  # of which sent by award_for_attempt
    candidates: int = 0  # rules in the attempt's plan (its scopes, the facts it grew)
    # Top-level evaluate calls: candidates whose award is not held and that a quick check
    # (RuleType.reached) finds reached (children not counted).
    rules_evaluated: int = 0
    evaluations: int = 0  # (rule, context) pairs evaluated
    awards_offered: int = 0  # earned evaluations sent to INSERT … ON CONFLICT DO NOTHING
    awards_new: int = 0  # rows actually inserted (badges new to the attempt)
    attempt_s: float = 0.0  # wall time of the counted attempts, transaction included
    badge_s: float = 0.0  # of which in award_for_attempt
    cpu_s: dict[str, float] = field(default_factory=dict)  # bench, postgres: the whole pass
    phase_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))

    @property
    def others_cores(self) -> float:
        """Cores other processes used during the pass (NaN without a machine meter)."""
        if loadgen.MACHINE not in self.cpu_s or not self.attempt_s:
            return float("nan")
        ours = sum(s for group, s in self.cpu_s.items() if group != loadgen.MACHINE)
        return max(0.0, self.cpu_s[loadgen.MACHINE] - ours) / self.attempt_s

    def per_solving(self, value: float) -> float:
        return value / self.solving if self.solving else 0.0

    def ms_per_attempt(self, seconds: float) -> float:
        return 1000 * seconds / self.attempts if self.attempts else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "active_rules": self.active_rules,
            "attempts": self.attempts,
            "solving_attempts": self.solving,
            "per_solving_attempt": {
                "candidates": round(self.per_solving(self.candidates), 2),
                "rules_evaluated": round(self.per_solving(self.rules_evaluated), 2),
                "evaluations": round(self.per_solving(self.evaluations), 2),
                "awards_offered": round(self.per_solving(self.awards_offered), 2),
                "awards_new": round(self.per_solving(self.awards_new), 3),
                "badge_sql_statements": round(self.per_solving(self.badge_statements), 2),
                "badge_ms": round(self.per_solving(1000 * self.badge_s), 4),
                "phase_ms": {
                    name: round(self.per_solving(1000 * s), 4) for name, s in self.phase_s.items()
                },
            },
            "others_cores": round(self.others_cores, 3),
            "per_attempt": {
                "cpu_ms": {
                    group: round(self.ms_per_attempt(seconds), 4)
                    for group, seconds in self.cpu_s.items()
                },
                "candidates": round(self.candidates / max(1, self.attempts), 2),
                "sql_statements": round(self.statements / max(1, self.attempts), 2),
                "badge_sql_statements": round(self.badge_statements / max(1, self.attempts), 2),
                "wall_ms": round(self.ms_per_attempt(self.attempt_s), 4),
                "badge_ms": round(self.ms_per_attempt(self.badge_s), 4),
            },
        }


class _Probe:
    """The wrappers' shared state: where counts go, and whether they count yet."""

    def __init__(self, census: Census) -> None:
        self.census = census
        self.counting = False
        self.in_badges = False
        self.step_s = 0.0  # time of the timed phases in the current badge step

    def add_phase(self, name: str, seconds: float) -> None:
        self.step_s += seconds
        if self.counting:
            self.census.phase_s[name] += seconds


def _timed_async(
    probe: _Probe, phase: str, function: Callable[..., Awaitable[Any]]
) -> Callable[..., Awaitable[Any]]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await function(*args, **kwargs)
        finally:
            probe.add_phase(phase, time.perf_counter() - started)

    return wrapper


@contextmanager
def _instrumented(probe: _Probe) -> Iterator[None]:
    award = badge_awards.award_for_attempt
    index = badge_awards.rule_index
    plan = badge_awards.RuleIndex.plan
    insert = badge_queries.insert_awards
    from_row = badge_awards.ParsedRule.from_row
    evaluate = badge_rules.evaluate

    async def award_wrapper(conn: Any, event_: badge_awards.AttemptEvent) -> Any:
        probe.in_badges = True
        probe.step_s = 0.0
        started = time.perf_counter()
        try:
            return await award(conn, event_)
        finally:
            probe.in_badges = False
            if probe.counting:
                elapsed = time.perf_counter() - started
                probe.census.solving += 1
                probe.census.badge_s += elapsed
                probe.census.phase_s["rest"] += elapsed - probe.step_s
            probe.step_s = 0.0

    async def index_wrapper(conn: Any, version: int) -> Any:
        started = time.perf_counter()
        found = await index(conn, version)
        probe.add_phase("rule index", time.perf_counter() - started)
        return found

    def plan_wrapper(self: badge_awards.RuleIndex, event_: Any) -> Any:
        # The plan, not RuleIndex.candidates: plans are kept, so candidates() runs only
        # for the first attempt of each kind.
        started = time.perf_counter()
        found = plan(self, event_)
        probe.add_phase("rule index", time.perf_counter() - started)
        if probe.counting:
            probe.census.candidates += len(found.rules)
        return found

    async def insert_wrapper(conn: Any, awards: Sequence[dict[str, Any]]) -> Any:
        started = time.perf_counter()
        rows = await insert(conn, awards)
        probe.add_phase("insert awards", time.perf_counter() - started)
        if probe.counting:
            probe.census.awards_offered += len(awards)
            probe.census.awards_new += len(rows)
        return rows

    def from_row_wrapper(cls: type, row: Any) -> Any:
        started = time.perf_counter()
        try:
            return from_row(row)
        finally:
            probe.add_phase("parse criteria", time.perf_counter() - started)

    def evaluate_wrapper(
        rule_type: str, criteria: badge_rules.Criteria, facts: Any
    ) -> list[badge_rules.Evaluation]:
        started = time.perf_counter()
        found = evaluate(rule_type, criteria, facts)
        probe.add_phase("evaluate", time.perf_counter() - started)
        if probe.counting:
            probe.census.rules_evaluated += 1
            probe.census.evaluations += len(found)
        return found

    def counted(execute: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            if probe.counting:
                probe.census.statements += 1
                probe.census.badge_statements += probe.in_badges
            return await execute(*args, **kwargs)

        return wrapper

    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(badge_awards, "award_for_attempt", award_wrapper))
        stack.enter_context(mock.patch.object(badge_awards, "rule_index", index_wrapper))
        stack.enter_context(mock.patch.object(badge_awards.RuleIndex, "plan", plan_wrapper))
        stack.enter_context(mock.patch.object(badge_queries, "insert_awards", insert_wrapper))
        stack.enter_context(
            mock.patch.object(badge_awards.ParsedRule, "from_row", classmethod(from_row_wrapper))
        )
        stack.enter_context(mock.patch.object(badge_rules, "evaluate", evaluate_wrapper))
        for function, phase in FACT_QUERIES.items():
            timed = _timed_async(probe, phase, getattr(badge_queries, function))
            stack.enter_context(mock.patch.object(badge_queries, function, timed))
        # Statements are counted where asyncpg sends them, whichever layer above asked
        # (SQLAlchemy's prepared statements, or db.raw's Connection.fetch/execute with
        # arguments); BEGIN and COMMIT (simple queries without arguments) are not counted.
        for owner, name in (
            (asyncpg.connection.Connection, "_do_execute"),
            (asyncpg.prepared_stmt.PreparedStatement, "_PreparedStatement__do_execute"),
        ):
            stack.enter_context(mock.patch.object(owner, name, counted(getattr(owner, name))))
        yield


async def take(
    engine: AsyncEngine,
    user_id: uuid.UUID,
    tasks: Sequence[attempt_dataset.Placement],
    *,
    active_rules: int,
    attempts: int,
    solved_share: float,
    cpu: loadgen.CpuMeter,
) -> Census:
    """``attempts`` attempts by one learner, one at a time, counted and timed.

    ``cpu`` should meter this process as ``bench`` and PostgreSQL as ``postgres``: the
    pass is the only work they do meanwhile.
    """
    probe = _Probe(Census(active_rules))
    policy = settings.Settings().attempt_policy
    client = attempt_clients.DomainClient(engine, user_id, tasks, policy, solved_share)
    best: Census | None = None
    with _instrumented(probe):
        for _ in range(WARM_UP):
            await client.submit()
        # As the load runs do: again while other processes took the CPUs, the least
        # disturbed pass counts (the counts hardly differ; the times do).
        for _ in range(attempt_sides.TRIES):
            await loadgen.wait_until_quiet()
            census = probe.census = Census(active_rules)
            # What the load runs left in this process is collected and frozen first, as
            # the server does after start-up: one full collection of it (~80 ms) inside
            # the pass would add ~0.4 ms to every solving attempt's badge step.
            gc.collect()
            gc.freeze()
            probe.counting = True
            before = cpu.sample()
            try:
                for _ in range(attempts):
                    started = time.perf_counter()
                    await client.submit()
                    census.attempt_s += time.perf_counter() - started
                    census.attempts += 1
            finally:
                gc.unfreeze()
            after = cpu.sample()
            probe.counting = False
            census.cpu_s = {group: after[group] - before[group] for group in after}
            if best is None or census.others_cores < best.others_cores:
                best = census
            if not census.others_cores > attempt_sides.DISTURBED_CORES:
                break
    assert best is not None
    return best
