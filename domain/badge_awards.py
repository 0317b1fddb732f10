"""Awarding badges inside the attempt transaction, and progress toward each badge.

Only the rules an attempt can affect are fetched: indexed by (type, scope) with the
attempt's theme, section and course. Awards are exactly once per (user, badge, context)
through the primary key and INSERT … ON CONFLICT DO NOTHING; ``awarded_at`` is when the
qualifying attempt occurred, not when it was processed.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from db import badge_queries as q
from domain import badge_rules
from domain.badge_facts import Counts, Facts


@dataclass(frozen=True, slots=True)
class AttemptEvent:
    """What one recorded, solving attempt changed, as the badge rules see it."""

    user_id: uuid.UUID
    attempt_id: uuid.UUID
    occurred_at: datetime
    local_day: date
    theme_id: uuid.UUID
    section_id: uuid.UUID
    course_id: uuid.UUID
    section: Counts
    course: Counts
    longest_streak: int


@dataclass(frozen=True, slots=True)
class ParsedRule:
    id: uuid.UUID
    badge_id: uuid.UUID
    type: str
    criteria: badge_rules.Criteria

    @classmethod
    def from_row(cls, row: Any) -> "ParsedRule":
        parsed, problems = badge_rules.validate(row.type, row.criteria)
        # Rules are validated before they are stored; a stored rule that no longer parses
        # is a bug worth stopping the transaction for.
        assert parsed is not None, problems
        return cls(row.id, row.badge_id, row.type, parsed)


def candidate_scopes(event: AttemptEvent) -> list[tuple[str, str]]:
    """The (type, scope_key) pairs whose rules this attempt can affect."""
    scoped = {
        "section_completed": event.section_id,
        "course_completed": event.course_id,
        "theme_completed": event.theme_id,
        "perfect_theme": event.theme_id,
        "solved_total": event.course_id,
    }
    pairs = [(kind, "") for kind in badge_rules.REGISTRY]
    pairs += [(kind, str(scope)) for kind, scope in scoped.items()]
    return pairs


def awards_from(
    rules: list[ParsedRule],
    facts: Facts,
    *,
    user_id: uuid.UUID,
    attempt_id: uuid.UUID | None,
    retroactive: bool,
) -> list[dict[str, Any]]:
    """Award rows for every rule earned on ``facts`` (existing ones are skipped on insert)."""
    awards = []
    for rule in rules:
        for evaluation in badge_rules.evaluate(rule.type, rule.criteria, facts):
            if evaluation.earned:
                awards.append(
                    {
                        "user_id": user_id,
                        "badge_id": rule.badge_id,
                        "context_key": evaluation.context_key,
                        "context": evaluation.context,
                        "rule_id": rule.id,
                        "attempt_id": attempt_id,
                        "awarded_at": facts.at,
                        "retroactive": retroactive,
                    }
                )
    return awards


async def event_facts(
    conn: AsyncConnection, event: AttemptEvent, needs: frozenset[str], window_days: int
) -> Facts:
    """The facts the attempt's rules read, limited to the scopes the attempt touched."""
    themes = {}
    if "themes" in needs:
        themes = {
            r.id: Counts(r.solved, r.total, r.first_try)
            for r in await q.theme_counts(conn, event.user_id, [event.theme_id])
        }
    return Facts(
        at=event.occurred_at,
        sections={event.section_id: event.section},
        courses={event.course_id: event.course},
        themes=themes,
        longest_streak=event.longest_streak,
        best_day_solved=await q.day_solved(conn, event.user_id, event.local_day)
        if "day" in needs
        else 0,
        solved_total=await q.solved_total(conn, event.user_id) if "solved_total" in needs else 0,
        fast_solves=tuple(await q.fast_solves(conn, event.user_id))
        if "fast_solves" in needs
        else (),
        solve_times=tuple(
            await q.solve_times(
                conn,
                event.user_id,
                event.occurred_at - timedelta(days=window_days),
                event.occurred_at,
            )
        )
        if "solve_times" in needs
        else (),
    )


def _window_days(rules: list[ParsedRule]) -> int:
    days = [
        rule.criteria.days
        for rule in rules
        if isinstance(rule.criteria, badge_rules.CountInWindowCriteria)
    ]
    # Compositions may hold windows too; the longest allowed window covers them all.
    return max(days, default=366)


async def award_for_attempt(conn: AsyncConnection, event: AttemptEvent) -> tuple[uuid.UUID, ...]:
    """Award what this solving attempt earned; returns the badges new to it, each once."""
    rows = await q.active_rules_for(conn, candidate_scopes(event))
    if not rows:
        return ()
    rules = [ParsedRule.from_row(row) for row in rows]
    needs = frozenset().union(*(badge_rules.needs(r.type, r.criteria) for r in rules))
    facts = await event_facts(conn, event, needs, _window_days(rules))
    awards = awards_from(
        rules, facts, user_id=event.user_id, attempt_id=event.attempt_id, retroactive=False
    )
    inserted = await q.insert_awards(conn, awards)
    return tuple(dict.fromkeys(row.badge_id for row in inserted))
