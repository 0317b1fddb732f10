"""Awards a content change completes, in the change's transaction, dated at the change.

An attempt awards what it completes (domain.badge_awards); a content change can complete a
section, theme or course too (its last unsolved task removed, deactivated or moved away), and
so everything composed of them. The change reads the section, theme and course counts of the
learners enrolled where it acts before and after it, and awards, through the same rules, what
is earned after and was not before: a rule that already held (added without a backfill) is a
backfill's business, not the change's. ``awarded_at`` is the change's moment; the award names
no attempt.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from db import badge_queries
from db import content_change_queries as q
from domain import badge_progress, badge_rules
from domain.badge_awards import ParsedRule
from domain.badge_facts import Counts, Facts

# The facts a content change can move; every other fact counts attempts.
NODE_FACTS = frozenset({"sections", "courses", "themes"})
_FIELD = {"section": "sections", "course": "courses", "theme": "themes"}

NodeCounts = dict[str, dict[uuid.UUID, Counts]]


@dataclass(frozen=True, slots=True)
class Watch:
    """The learners a change can affect and their counts before it."""

    at: datetime
    users: list[uuid.UUID]
    before: dict[uuid.UUID, NodeCounts]


async def watch(
    conn: AsyncConnection,
    *,
    courses: Sequence[str],
    nodes: dict[str, list[str]],
    now: datetime | None = None,
) -> Watch:
    """Call before changing the courses (keys) and nodes (keys by table) of a content file;
    the change is dated ``now`` (the transaction's time if None)."""
    at, users = await q.prepare(conn, course_keys=courses, node_keys=nodes, now=now)
    before = _by_user(await q.node_counts(conn, users)) if users else {}
    return Watch(at, users, before)


async def award_completed(conn: AsyncConnection, watch: Watch) -> int:
    """Call after the change: award what it made earned; returns the awards inserted."""
    if not watch.users:
        return 0
    rows = await badge_queries.rules(conn, rule_ids=None, active_only=True)
    rules = [rule for rule in map(ParsedRule.from_row, rows) if rule.needs & NODE_FACTS]
    if not rules:
        return 0
    after = _by_user(await q.node_counts(conn, watch.users))
    # Facts other than node counts (a composition of a completion and a streak, say) do not
    # move with content: read once, as of the change.
    others = [rule for rule in rules if rule.needs - NODE_FACTS]
    awards: dict[tuple[uuid.UUID, uuid.UUID, str], dict[str, Any]] = {}
    for user_id in watch.users:
        base = (
            await badge_progress.learner_facts(conn, user_id, others, watch.at)
            if others
            else Facts(at=watch.at)
        )
        old = _with_counts(base, watch.before.get(user_id, {}))
        new = _with_counts(base, after.get(user_id, {}))
        for award in _newly_earned(rules, old, new, user_id):
            awards.setdefault((user_id, award["badge_id"], award["context_key"]), award)
    inserted = await badge_queries.insert_awards(conn, list(awards.values()))
    return len(inserted)


def _by_user(rows: Sequence[Any]) -> dict[uuid.UUID, NodeCounts]:
    found: dict[uuid.UUID, NodeCounts] = defaultdict(lambda: {name: {} for name in _FIELD})
    for row in rows:
        found[row.user_id][row.kind][row.id] = Counts(row.solved, row.total, row.first_try)
    return dict(found)


def _with_counts(base: Facts, counts: NodeCounts) -> Facts:
    return replace(
        base,
        sections=counts.get("section", {}),
        courses=counts.get("course", {}),
        themes=counts.get("theme", {}),
    )


def _newly_earned(
    rules: Sequence[ParsedRule], old: Facts, new: Facts, user_id: uuid.UUID
) -> list[dict[str, Any]]:
    found = []
    for rule in rules:
        if not badge_rules.reached(rule.type, rule.criteria, new):
            continue
        held_before = {
            e.context_key for e in badge_rules.evaluate(rule.type, rule.criteria, old) if e.earned
        }
        for evaluation in badge_rules.evaluate(rule.type, rule.criteria, new):
            if evaluation.earned and evaluation.context_key not in held_before:
                found.append(
                    {
                        "user_id": user_id,
                        "badge_id": rule.badge_id,
                        "context_key": evaluation.context_key,
                        "context": evaluation.context,
                        "rule_id": rule.id,
                        "attempt_id": None,
                        "awarded_at": new.at,
                        "retroactive": False,
                    }
                )
    return found
