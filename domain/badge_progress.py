"""Explainable progress toward badges: per rule, how far the learner is and what they hold.

One fixed set of statements for any number of badges: the rules, the learner's awards and
each kind of fact the rules read, over all content.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from db import badge_queries as q
from db import learner_queries
from domain import badge_rules, streaks
from domain.badge_awards import ParsedRule
from domain.badge_facts import Counts, Facts


@dataclass(frozen=True, slots=True)
class RuleProgress:
    rule_id: uuid.UUID
    rule_type: str
    criteria: dict[str, Any]
    active: bool
    earned: bool
    awarded_at: datetime | None
    current: int
    target: int


async def current_streak(
    conn: AsyncConnection, user_id: uuid.UUID, now: datetime, policy: streaks.StreakPolicy
) -> int:
    """The learner's live streak on their local day of ``now``."""
    row = await learner_queries.get_streak_and_timezone(conn, user_id, now)
    today = streaks.local_day(now, row.timezone, row.floor_day, policy.day_start_hour)
    return streaks.from_row(row).current_on(today)


async def learner_facts(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    rules: Sequence[ParsedRule],
    now: datetime,
    policy: streaks.StreakPolicy = streaks.DEFAULT_POLICY,
) -> Facts:
    """Everything ``rules`` may read about the learner, over all content, as of ``now``."""
    needs = frozenset().union(*(rule.needs for rule in rules))
    windows = sorted(frozenset().union(*(rule.windows for rule in rules)))
    fast = sorted(frozenset().union(*(rule.fast for rule in rules)))

    def counts(rows: Sequence[Any]) -> dict[uuid.UUID, Counts]:
        return {r.id: Counts(r.solved, r.total, getattr(r, "first_try", 0)) for r in rows}

    return Facts(
        at=now,
        sections=counts(await q.section_counts(conn, user_id, None)) if "sections" in needs else {},
        courses=counts(await q.course_counts(conn, user_id, None))
        if needs & {"courses", "solved_total"}
        else {},
        themes=counts(await q.theme_counts(conn, user_id, None)) if "themes" in needs else {},
        current_streak=await current_streak(conn, user_id, now, policy) if "streak" in needs else 0,
        best_day_solved=await q.best_day_solved(conn, user_id) if "day" in needs else 0,
        solved_total=await q.solved_total(conn, user_id) if "solved_total" in needs else 0,
        fast_counts=dict(zip(fast, await q.fast_counts(conn, user_id, fast), strict=True))
        if fast
        else {},
        window_counts=dict(
            zip(
                windows,
                await q.window_counts(conn, user_id, windows, now, policy.day_start_hour),
                strict=True,
            )
        )
        if windows
        else {},
    )


def _closest(evaluations: list[badge_rules.Evaluation]) -> tuple[int, int]:
    if not evaluations:
        return 0, 0
    best = max(evaluations, key=lambda e: (e.earned, e.current / e.target if e.target else 0))
    return best.current, best.target


async def progress_by_badge(
    conn: AsyncConnection,
    *,
    user_id: uuid.UUID,
    badge_ids: Sequence[uuid.UUID],
    now: datetime,
    policy: streaks.StreakPolicy = streaks.DEFAULT_POLICY,
) -> list[list[RuleProgress]]:
    """Per badge (aligned to ``badge_ids``), the learner's progress on each of its rules."""
    rules_per_badge = await q.rules_by_badge(conn, badge_ids)
    awards = await q.awards_by_user_badge(conn, [(user_id, b) for b in badge_ids])
    parsed = {row.id: ParsedRule.from_row(row) for rows in rules_per_badge for row in rows}
    facts = await learner_facts(conn, user_id, list(parsed.values()), now, policy)
    result = []
    for rows, held in zip(rules_per_badge, awards, strict=True):
        progress = []
        for row in rows:
            rule = parsed[row.id]
            mine = [award for award in held if award.rule_id == row.id]
            current, target = _closest(badge_rules.evaluate(rule.type, rule.criteria, facts))
            progress.append(
                RuleProgress(
                    rule_id=row.id,
                    rule_type=row.type,
                    criteria=row.criteria,
                    active=row.active,
                    earned=bool(mine),
                    awarded_at=mine[0].awarded_at if mine else None,
                    current=target if mine and target else current,
                    target=target,
                )
            )
        result.append(progress)
    return result
