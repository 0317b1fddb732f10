"""Awarding badges inside the attempt transaction, and progress toward each badge.

Only the rules an attempt can affect are fetched: indexed by (type, scope) with the
attempt's theme, section and course. Awards are exactly once per (user, badge, context)
through the primary key and INSERT … ON CONFLICT DO NOTHING; ``awarded_at`` is when the
qualifying attempt occurred, not when it was processed.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import orjson
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
    needs: frozenset[str]
    windows: frozenset[int]
    fast: frozenset[int]

    @classmethod
    def from_row(cls, row: Any) -> "ParsedRule":
        parsed = _parse(row.type, orjson.dumps(row.criteria, option=orjson.OPT_SORT_KEYS))
        return cls(row.id, row.badge_id, row.type, *parsed)


@lru_cache(maxsize=4096)
def _parse(
    rule_type: str, criteria_json: bytes
) -> tuple[badge_rules.Criteria, frozenset[str], frozenset[int], frozenset[int]]:
    # Rules change rarely and are read on every solving attempt: parse each version once.
    parsed, problems = badge_rules.validate(rule_type, orjson.loads(criteria_json))
    # Rules are validated before they are stored; a stored rule that no longer parses
    # is a bug worth stopping the transaction for.
    assert parsed is not None, problems
    windows, fast = badge_rules.thresholds(rule_type, parsed)
    return parsed, badge_rules.needs(rule_type, parsed), windows, fast


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


async def event_facts(conn: AsyncConnection, event: AttemptEvent, rules: list[ParsedRule]) -> Facts:
    """The facts the attempt's rules read, limited to what the attempt touched: one statement."""
    needs = frozenset().union(*(rule.needs for rule in rules))
    windows = sorted(frozenset().union(*(rule.windows for rule in rules)))
    fast = sorted(frozenset().union(*(rule.fast for rule in rules)))
    row = await q.event_facts(
        conn,
        user_id=event.user_id,
        theme_id=event.theme_id if "themes" in needs else None,
        day=event.local_day if "day" in needs else None,
        solved_total="solved_total" in needs,
        at=event.occurred_at,
        window_days=windows,
        fast_ms=fast,
    )
    return Facts(
        at=event.occurred_at,
        sections={event.section_id: event.section},
        courses={event.course_id: event.course},
        themes={event.theme_id: Counts(*row.theme)} if row.theme else {},
        longest_streak=event.longest_streak,
        best_day_solved=row.day_solved or 0,
        solved_total=row.solved_total or 0,
        window_counts=dict(zip(windows, row.windows or [], strict=True)),
        fast_counts=dict(zip(fast, row.fast or [], strict=True)),
    )


def award_contexts(event: AttemptEvent) -> dict[str, str]:
    """The context key an award from each scoped rule type would get for this attempt."""
    return {
        "section_completed": str(event.section_id),
        "course_completed": str(event.course_id),
        "theme_completed": str(event.theme_id),
        "perfect_theme": str(event.theme_id),
    }


async def award_for_attempt(conn: AsyncConnection, event: AttemptEvent) -> tuple[uuid.UUID, ...]:
    """Award what this solving attempt earned; returns the badges new to it, each once."""
    rows = await q.active_rules_for(
        conn, candidate_scopes(event), user_id=event.user_id, contexts=award_contexts(event)
    )
    if not rows:
        return ()
    rules = [ParsedRule.from_row(row) for row in rows]
    facts = await event_facts(conn, event, rules)
    awards = awards_from(
        rules, facts, user_id=event.user_id, attempt_id=event.attempt_id, retroactive=False
    )
    inserted = await q.insert_awards(conn, awards)
    return tuple(dict.fromkeys(row.badge_id for row in inserted))
