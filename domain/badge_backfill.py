"""Retroactive awards: replay each learner's attempts, in the order the server recorded
them, through the same rules and the same facts the attempt transaction would have seen.

The replay is plain Python over rows fetched in bulk, so a backfill awards exactly what
incremental awarding would have awarded for the same attempts and content, with
``awarded_at`` = when the qualifying attempt occurred and ``retroactive`` set.
"""

import uuid
from bisect import insort
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from db import badge_queries as q
from domain import badge_awards, badge_rules, streaks
from domain.badge_awards import AttemptEvent, ParsedRule
from domain.badge_facts import Counts, Facts


@dataclass
class _TaskState:
    solved: bool = False
    success: int = 0
    failure: int = 0
    tries: int = 0

    @property
    def first_try(self) -> bool:
        return self.solved and self.failure == 0 and self.tries == self.success


@dataclass
class _Learner:
    """One learner's state as the replay goes: just what the rules read."""

    tasks: dict[uuid.UUID, _TaskState] = field(default_factory=lambda: defaultdict(_TaskState))
    day_tasks: dict[date, set[uuid.UUID]] = field(default_factory=lambda: defaultdict(set))
    fastest: dict[uuid.UUID, int] = field(default_factory=dict)
    solve_times: list[Any] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Content:
    placement: dict[uuid.UUID, Any]  # task id -> row (theme, section, course, active, totals)
    theme_tasks: dict[uuid.UUID, list[uuid.UUID]]  # active tasks per theme

    @classmethod
    def from_rows(cls, rows: Sequence[Any]) -> "Content":
        themes: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for row in rows:
            if row.active:
                themes[row.theme_id].append(row.id)
        return cls({row.id: row for row in rows}, dict(themes))


def _solved_in(learner: _Learner, content: Content, scope: str, scope_id: uuid.UUID) -> int:
    return sum(
        1
        for task_id, state in learner.tasks.items()
        if state.solved
        and task_id in content.placement
        and content.placement[task_id].active
        and getattr(content.placement[task_id], scope) == scope_id
    )


def replay(
    attempts: Sequence[Any], content: Content, rules: list[ParsedRule], user_id: uuid.UUID
) -> list[dict[str, Any]]:
    """The awards one learner's attempts earn, in order; each (badge, context) once."""
    learner = _Learner()
    awarded: set[tuple[uuid.UUID, str]] = set()
    found: list[dict[str, Any]] = []
    for attempt in attempts:
        place = content.placement.get(attempt.task_id)
        if place is None:
            continue  # the task is gone; its attempts no longer count toward anything
        state = learner.tasks[attempt.task_id]
        state.solved = state.solved or attempt.solved
        state.success += attempt.solved
        state.failure += not attempt.solved
        state.tries += attempt.tries
        if not attempt.solved:
            continue
        learner.day_tasks[attempt.local_day].add(attempt.task_id)
        insort(learner.solve_times, attempt.occurred_at)
        if attempt.tries == 1:
            best = learner.fastest.get(attempt.task_id, attempt.time_spent_ms)
            learner.fastest[attempt.task_id] = min(best, attempt.time_spent_ms)
        event = AttemptEvent(
            user_id=user_id,
            attempt_id=attempt.id,
            occurred_at=attempt.occurred_at,
            local_day=attempt.local_day,
            theme_id=place.theme_id,
            section_id=place.section_id,
            course_id=place.course_id,
            section=Counts(
                _solved_in(learner, content, "section_id", place.section_id), place.section_total
            ),
            course=Counts(
                _solved_in(learner, content, "course_id", place.course_id), place.course_total
            ),
            longest_streak=streaks.from_days(
                [day for day, tasks in learner.day_tasks.items() if tasks]
            ).longest,
        )
        theme_tasks = content.theme_tasks.get(place.theme_id, [])
        facts = Facts(
            at=attempt.occurred_at,
            sections={event.section_id: event.section},
            courses={event.course_id: event.course},
            themes={
                place.theme_id: Counts(
                    sum(learner.tasks[t].solved for t in theme_tasks if t in learner.tasks),
                    len(theme_tasks),
                    sum(learner.tasks[t].first_try for t in theme_tasks if t in learner.tasks),
                )
            },
            longest_streak=event.longest_streak,
            best_day_solved=len(learner.day_tasks[attempt.local_day]),
            solved_total=sum(s.solved for s in learner.tasks.values()),
            fast_solves=tuple(sorted(learner.fastest.values())),
            solve_times=tuple(learner.solve_times),
        )
        scopes = set(badge_awards.candidate_scopes(event))
        matching = [r for r in rules if (r.type, _scope_of(r)) in scopes]
        for award in badge_awards.awards_from(
            matching, facts, user_id=user_id, attempt_id=attempt.id, retroactive=True
        ):
            key = (award["badge_id"], award["context_key"])
            if key not in awarded:
                awarded.add(key)
                found.append(award)
    return found


def _scope_of(rule: ParsedRule) -> str:
    return badge_rules.scope_key(rule.type, rule.criteria)


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
) -> BackfillResult:
    """Award what the users' attempts earned under the rules; a dry run writes nothing."""
    rules = [
        ParsedRule.from_row(row) for row in await q.rules(conn, rule_ids=rule_ids, active_only=True)
    ]
    if not rules:
        return BackfillResult(len(user_ids), Counter())
    content = Content.from_rows(await q.content_placement(conn))
    by_user: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in await q.attempts_in_processing_order(conn, user_ids):
        by_user[row.user_id].append(row)
    held = await q.held_awards(conn, user_ids)
    new = [
        award
        for user_id, attempts in by_user.items()
        for award in replay(attempts, content, rules, user_id)
        if (user_id, award["badge_id"], award["context_key"]) not in held
    ]
    if not dry_run:
        await q.insert_awards(conn, new)
    return BackfillResult(len(user_ids), Counter(award["badge_id"] for award in new))


async def list_learners(
    conn: AsyncConnection, *, after: uuid.UUID | None = None
) -> list[uuid.UUID]:
    """Learners with attempts in id order, after ``after`` (the resumable order)."""
    return await q.learners_with_attempts(conn, after=after)


async def backfill_rule(conn: AsyncConnection, *, rule_id: uuid.UUID) -> int:
    """Backfill one rule over every learner in this transaction; returns the new awards."""
    users = await list_learners(conn)
    result = await backfill_users(conn, user_ids=users, rule_ids=[rule_id], dry_run=False)
    return sum(result.awards.values())
