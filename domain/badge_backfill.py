"""Retroactive awards: replay each learner's attempts, in the order the server recorded
them (``received_seq``, which orders the items of one batch too), through the same rules
and the same facts the attempt transaction would have seen.

The replay is plain Python over rows fetched in bulk, so a backfill awards exactly what
incremental awarding would have awarded for the same attempts and content, with
``awarded_at`` = when the qualifying attempt occurred and ``retroactive`` set.
"""

import uuid
from bisect import bisect_right, insort
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from db import badge_queries as q
from domain import badge_awards, streaks
from domain.badge_awards import AttemptEvent, ParsedRule
from domain.badge_facts import Counts


@dataclass
class _TaskState:
    solved: bool = False
    success: int = 0
    failure: int = 0
    tries: int = 0
    fastest_one_try: int | None = None

    @property
    def first_try(self) -> bool:
        return self.solved and self.failure == 0 and self.tries == self.success


@dataclass(frozen=True, slots=True)
class Content:
    placement: dict[uuid.UUID, Any]  # task id -> row (theme, section, course, active, totals)
    theme_totals: dict[uuid.UUID, int]  # active tasks per theme
    section_totals: dict[uuid.UUID, int]
    course_totals: dict[uuid.UUID, int]

    @classmethod
    def from_rows(cls, rows: Sequence[Any]) -> "Content":
        themes: Counter[uuid.UUID] = Counter()
        for row in rows:
            themes[row.theme_id] += bool(row.active)
        return cls(
            {row.id: row for row in rows},
            dict(themes),
            {row.section_id: row.section_total for row in rows},
            {row.course_id: row.course_total for row in rows},
        )


class _Learner:
    """One learner's state as the replay goes: what the rules read, kept up to date per
    attempt in O(1) (windows: O(active days in the window)), as the attempt path keeps it."""

    def __init__(
        self,
        content: Content,
        fast_limits: Sequence[int],
        grants: Sequence[Any] = (),
        policy: streaks.StreakPolicy = streaks.DEFAULT_POLICY,
    ) -> None:
        self.content = content
        self.tasks: dict[uuid.UUID, _TaskState] = defaultdict(_TaskState)
        self.solved: Counter[tuple[str, uuid.UUID]] = Counter()  # active tasks, per node
        self.first_try: Counter[uuid.UUID] = Counter()  # per theme, active tasks
        self.solved_total = 0
        self.day_tasks: dict[date, set[uuid.UUID]] = defaultdict(set)
        self.day_solves: Counter[date] = Counter()
        self.days: list[date] = []  # the days with a solve, sorted
        self.streak_days: list[date] = []  # the days with a solve within the grace period
        self.grants = list(grants)  # (granted_at, day, count), oldest first
        self.granted: list[tuple[date, int]] = []  # those the server had when it got here
        self.policy = policy
        self.streak = streaks.NO_STREAK
        self.fast_limits = fast_limits
        self.fast: Counter[int] = Counter()  # limit -> tasks within it

    def fold(self, attempt: Any, place: Any | None) -> frozenset[str]:
        """Count one attempt; ``place`` is None for a deleted task, whose attempts still
        count toward the learner-wide facts (days, totals, speed), as they do live. Returns
        the facts the attempt grew, as the attempt path reports them."""
        state = self.tasks[attempt.task_id]
        was_solved, was_first_try = state.solved, state.first_try
        state.solved = state.solved or attempt.solved
        state.success += attempt.solved
        state.failure += not attempt.solved
        state.tries += attempt.tries
        if place is not None and place.active:
            if state.solved and not was_solved:
                for node in (("theme", place.theme_id), ("section", place.section_id)):
                    self.solved[node] += 1
                self.solved[("course", place.course_id)] += 1
            self.first_try[place.theme_id] += state.first_try - was_first_try
        if not attempt.solved:
            return frozenset()
        grew = set()
        if not was_solved:
            self.solved_total += 1
            grew.add("solved_total")
        day_tasks = self.day_tasks[attempt.local_day]
        if attempt.task_id not in day_tasks:
            day_tasks.add(attempt.task_id)
            grew.add("day")
        if not self.day_solves[attempt.local_day]:
            insort(self.days, attempt.local_day)
        self.day_solves[attempt.local_day] += 1
        in_grace = attempt.created_at - attempt.occurred_at <= self.policy.grace
        if in_grace and attempt.local_day not in self.streak_days:
            insort(self.streak_days, attempt.local_day)
            self.streak = streaks.fold(self.streak_days, self.granted, self.policy)
            grew.add("streak")
        if attempt.tries == 1:
            before = state.fastest_one_try
            if before is None or attempt.time_spent_ms < before:
                state.fastest_one_try = attempt.time_spent_ms
                grew.add("fast")
                for limit in self.fast_limits:
                    if attempt.time_spent_ms <= limit and (before is None or before > limit):
                        self.fast[limit] += 1
        return frozenset(grew)

    def receive_grants(self, until: Any) -> None:
        """Take in the freeze grants made before the server recorded an attempt at ``until``:
        the attempt path saw them in the stored streak."""
        taken = 0
        while taken < len(self.grants) and self.grants[taken].granted_at < until:
            self.granted.append((self.grants[taken].day, self.grants[taken].count))
            taken += 1
        if taken:
            del self.grants[:taken]
            self.streak = streaks.fold(self.streak_days, self.granted, self.policy)

    def counts(self, kind: str, node: uuid.UUID) -> Counts:
        if kind == "theme":
            total = self.content.theme_totals.get(node, 0)
            return Counts(self.solved[(kind, node)], total, self.first_try[node])
        totals = self.content.section_totals if kind == "section" else self.content.course_totals
        return Counts(self.solved[(kind, node)], totals.get(node, 0))

    def solves_within(self, day: date, days: int) -> int:
        start = bisect_right(self.days, day - timedelta(days=days))
        end = bisect_right(self.days, day)
        return sum(self.day_solves[d] for d in self.days[start:end])


def replay(
    attempts: Sequence[Any],
    content: Content,
    rules: list[ParsedRule],
    user_id: uuid.UUID,
    grants: Sequence[Any] = (),
    policy: streaks.StreakPolicy = streaks.DEFAULT_POLICY,
) -> list[dict[str, Any]]:
    """The awards one learner's attempts earn, in order; each (badge, context) once.
    ``grants``: the learner's streak freeze grants, oldest first."""
    learner = _Learner(
        content, sorted(frozenset().union(*(rule.fast for rule in rules))), grants, policy
    )
    index = badge_awards.RuleIndex.build(0, rules)
    awarded: set[tuple[uuid.UUID, str]] = set()
    found: list[dict[str, Any]] = []
    for attempt in attempts:
        place = content.placement.get(attempt.task_id)
        learner.receive_grants(attempt.created_at)
        grew = learner.fold(attempt, place)
        if place is None or not attempt.solved:
            continue  # a deleted task's attempt awards nothing: it has no place any more
        event = AttemptEvent(
            user_id=user_id,
            attempt_id=attempt.id,
            occurred_at=attempt.occurred_at,
            local_day=attempt.local_day,
            theme_id=place.theme_id,
            section_id=place.section_id,
            course_id=place.course_id,
            section=learner.counts("section", place.section_id),
            course=learner.counts("course", place.course_id),
            current_streak=learner.streak.as_of(attempt.local_day),
            day_solved_tasks=len(learner.day_tasks[attempt.local_day]),
            content_version=0,
            grew=grew,
        )
        plan = index.plan(event)
        if not plan.rules:
            continue
        facts = badge_awards.facts_for(
            event,
            themes={theme: learner.counts("theme", theme) for theme in plan.themes},
            sections={section: learner.counts("section", section) for section in plan.sections},
            courses={course: learner.counts("course", course) for course in plan.courses},
            solved_total=learner.solved_total,
            window_counts={w: learner.solves_within(attempt.local_day, w) for w in plan.windows},
            fast_counts={limit: learner.fast[limit] for limit in plan.fast},
        )
        for award in badge_awards.awards_from(
            plan.rules, facts, user_id=user_id, attempt_id=attempt.id, retroactive=True
        ):
            key = (award["badge_id"], award["context_key"])
            if key not in awarded:
                awarded.add(key)
                found.append(award)
    return found


async def replay_users(
    conn: AsyncConnection,
    *,
    user_ids: Sequence[uuid.UUID],
    rule_ids: Sequence[uuid.UUID] | None,
    policy: streaks.StreakPolicy = streaks.DEFAULT_POLICY,
) -> list[dict[str, Any]]:
    """Every award the users' attempts earn under the active rules (those of ``rule_ids``
    when given), from scratch: what a backfill into empty awards would write. Writes
    nothing."""
    rules = [
        ParsedRule.from_row(row) for row in await q.rules(conn, rule_ids=rule_ids, active_only=True)
    ]
    if not rules:
        return []
    content = Content.from_rows(await q.content_placement(conn))
    by_user: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in await q.attempts_in_processing_order(conn, user_ids):
        by_user[row.user_id].append(row)
    grants: dict[uuid.UUID, list[Any]] = defaultdict(list)
    if any("streak" in rule.needs for rule in rules):
        for row in await q.freeze_grants(conn, user_ids):
            grants[row.user_id].append(row)
    return [
        award
        for user_id, attempts in by_user.items()
        for award in replay(attempts, content, rules, user_id, grants[user_id], policy)
    ]


@dataclass(frozen=True, slots=True)
class BackfillResult:
    users: int
    awards: Counter[uuid.UUID]  # new awards per badge id (would-be awards on a dry run)


async def backfill_users(
    conn: AsyncConnection,
    *,
    user_ids: Sequence[uuid.UUID],
    rule_ids: Sequence[uuid.UUID] | None,
    dry_run: bool,
    policy: streaks.StreakPolicy = streaks.DEFAULT_POLICY,
) -> BackfillResult:
    """Award what the users' attempts earned under the rules; a dry run writes nothing."""
    replayed = await replay_users(conn, user_ids=user_ids, rule_ids=rule_ids, policy=policy)
    if not replayed:
        return BackfillResult(len(user_ids), Counter())
    held = await q.held_awards(conn, user_ids)
    new = [
        award
        for award in replayed
        if (award["user_id"], award["badge_id"], award["context_key"]) not in held
    ]
    if not dry_run:
        await q.insert_awards(conn, new)
    return BackfillResult(len(user_ids), Counter(award["badge_id"] for award in new))


async def list_learners(
    conn: AsyncConnection, *, after: uuid.UUID | None = None
) -> list[uuid.UUID]:
    """Learners with attempts in id order, after ``after`` (the resumable order)."""
    return await q.learners_with_attempts(conn, after=after)


async def backfill_rule(
    conn: AsyncConnection,
    *,
    rule_id: uuid.UUID,
    policy: streaks.StreakPolicy = streaks.DEFAULT_POLICY,
) -> int:
    """Backfill one rule over every learner in this transaction; returns the new awards."""
    users = await list_learners(conn)
    result = await backfill_users(
        conn, user_ids=users, rule_ids=[rule_id], dry_run=False, policy=policy
    )
    await mark_backfilled(conn, rule_ids=[rule_id])
    return sum(result.awards.values())


async def mark_backfilled(conn: AsyncConnection, *, rule_ids: Sequence[uuid.UUID] | None) -> None:
    """The rules (every active one when None) now owe what learners earned at any time: a
    backfill over every learner has run."""
    await q.mark_backfilled(conn, rule_ids)
