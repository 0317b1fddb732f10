"""Awarding badges inside the attempt transaction, and progress toward each badge.

Only the rules an attempt can affect are evaluated: the active rules are indexed by
(type, scope) in memory, per database, and re-read when the content version (bumped by
every change to badges and rules) moves; an attempt looks up its theme, section and course
and the learner-wide rules. What they read, and which of their awards the learner already
holds, comes in one statement. Awards are exactly once per (user, badge, context) through
the primary key and INSERT … ON CONFLICT DO NOTHING; ``awarded_at`` is when the qualifying
attempt occurred, not when it was processed.
"""

import uuid
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Engine

from db import badge_queries as q
from db import raw
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
    current_streak: int  # the live streak on ``local_day`` after this attempt (Streak.as_of)
    day_solved_tasks: int  # distinct tasks solved on ``local_day``, this attempt's included
    content_version: int  # read in the attempt's transaction: the rule index's freshness
    # The facts this attempt grew, of "solved_total" (a task solved for the first time),
    # "day" (a task new to the day's solved ones), "streak" (a new streak day) and "fast" (a
    # task's fastest one-try solve): rules decided by another fact alone are not evaluated.
    grew: frozenset[str]


@dataclass(frozen=True, slots=True)
class ParsedRule:
    id: uuid.UUID
    badge_id: uuid.UUID
    type: str
    criteria: badge_rules.Criteria
    needs: frozenset[str]
    windows: frozenset[int]
    fast: frozenset[int]
    scope_refs: frozenset[tuple[str, uuid.UUID]]  # nodes a composition's children name
    scope_key: str
    trigger: str | None  # the one fact that decides it (see badge_rules.trigger)

    @classmethod
    def from_row(cls, row: Any) -> "ParsedRule":
        parsed = _parse(row.type, orjson.dumps(row.criteria, option=orjson.OPT_SORT_KEYS))
        return cls(row.id, row.badge_id, row.type, *parsed)


@lru_cache(maxsize=4096)
def _parse(
    rule_type: str, criteria_json: bytes
) -> tuple[
    badge_rules.Criteria,
    frozenset[str],
    frozenset[int],
    frozenset[int],
    frozenset[tuple[str, uuid.UUID]],
    str,
    str | None,
]:
    # Rules change rarely: parse each version of a rule once per process.
    parsed, problems = badge_rules.validate(rule_type, orjson.loads(criteria_json))
    # Rules are validated before they are stored; a stored rule that no longer parses
    # is a bug worth stopping the transaction for.
    assert parsed is not None, problems
    windows, fast = badge_rules.thresholds(rule_type, parsed)
    return (
        parsed,
        badge_rules.needs(rule_type, parsed),
        windows,
        fast,
        badge_rules.scope_refs(rule_type, parsed),
        badge_rules.scope_key(rule_type, parsed),
        badge_rules.trigger(rule_type, parsed),
    )


def _node(event: AttemptEvent, scope: str) -> uuid.UUID | None:
    """The attempt's node in a rule type's scope (None for learner-wide rules)."""
    nodes = {"section": event.section_id, "course": event.course_id, "theme": event.theme_id}
    return nodes.get(scope)


def candidate_scopes(event: AttemptEvent) -> list[tuple[str, str]]:
    """The (type, scope_key) pairs whose rules this attempt can affect: every type's rules
    about no node in particular, and those about the attempt's section, course or theme."""
    pairs = [(kind, "") for kind in badge_rules.REGISTRY]
    for kind, rule_type in badge_rules.REGISTRY.items():
        node = _node(event, rule_type.scope)
        if node is not None:
            pairs.append((kind, str(node)))
    return pairs


def awards_from(
    rules: Sequence[ParsedRule],
    facts: Facts,
    *,
    user_id: uuid.UUID,
    attempt_id: uuid.UUID | None,
    retroactive: bool,
) -> list[dict[str, Any]]:
    """Award rows for every rule earned on ``facts`` (existing ones are skipped on insert)."""
    awards = []
    for rule in rules:
        if not badge_rules.reached(rule.type, rule.criteria, facts):
            continue  # not reached in any context: no evaluation to build
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


@dataclass(frozen=True, slots=True)
class EventPlan:
    """What an attempt in one theme, growing one set of facts, evaluates and reads: the
    candidate rules, the (badge, context) of their awards, and the facts they need."""

    rules: tuple[ParsedRule, ...]
    badge_ids: list[uuid.UUID]
    contexts: list[str]
    needs: frozenset[str]
    windows: list[int]
    fast: list[int]
    themes: list[uuid.UUID]
    sections: list[uuid.UUID]  # other than the attempt's own, whose counts come with it
    courses: list[uuid.UUID]

    @classmethod
    def build(cls, event: AttemptEvent, rules: list[ParsedRule]) -> "EventPlan":
        needs = frozenset().union(*(rule.needs for rule in rules))
        refs: set[tuple[str, uuid.UUID]] = set().union(*(rule.scope_refs for rule in rules))
        themes = {ref for kind, ref in refs if kind == "themes"}
        if "themes" in needs:
            themes.add(event.theme_id)
        return cls(
            rules=tuple(rules),
            badge_ids=[rule.badge_id for rule in rules],
            contexts=[award_context(event, rule) for rule in rules],
            needs=needs,
            windows=sorted(frozenset().union(*(rule.windows for rule in rules))),
            fast=sorted(frozenset().union(*(rule.fast for rule in rules))),
            themes=sorted(themes),
            sections=sorted({ref for kind, ref in refs if kind == "sections"} - {event.section_id}),
            courses=sorted({ref for kind, ref in refs if kind == "courses"} - {event.course_id}),
        )


PLANS_PER_INDEX = 4096  # (theme, facts grown) pairs remembered; then the plans start over


@dataclass(frozen=True, slots=True)
class RuleIndex:
    """The active rules of active badges as of one content version, by (type, scope_key),
    with the plan of each kind of attempt built on first use."""

    version: int
    by_scope: dict[tuple[str, str], tuple[ParsedRule, ...]]
    plans: dict[tuple[uuid.UUID, uuid.UUID, uuid.UUID, frozenset[str]], EventPlan] = field(
        default_factory=dict
    )

    @classmethod
    def build(cls, version: int, rules: Iterable[ParsedRule]) -> "RuleIndex":
        by_scope: dict[tuple[str, str], list[ParsedRule]] = {}
        for rule in rules:
            by_scope.setdefault((rule.type, rule.scope_key), []).append(rule)
        return cls(version, {pair: tuple(found) for pair, found in by_scope.items()})

    def candidates(self, event: AttemptEvent) -> list[ParsedRule]:
        """The rules ``event`` can affect, in a stable order."""
        found: list[ParsedRule] = []
        for pair in candidate_scopes(event):
            found += (
                rule
                for rule in self.by_scope.get(pair, ())
                if rule.trigger is None or rule.trigger in event.grew
            )
        return found

    def plan(self, event: AttemptEvent) -> EventPlan:
        key = (event.theme_id, event.section_id, event.course_id, event.grew)
        plan = self.plans.get(key)
        if plan is None:
            if len(self.plans) >= PLANS_PER_INDEX:
                self.plans.clear()
            plan = self.plans[key] = EventPlan.build(event, self.candidates(event))
        return plan


# One index per database (engine): versions are only comparable within one database.
_indexes: "weakref.WeakKeyDictionary[Engine, RuleIndex]" = weakref.WeakKeyDictionary()


async def rule_index(conn: raw.Connection, version: int) -> RuleIndex:
    """The rule index for content ``version``, read again only when the version moved."""
    engine = conn.sync_engine
    index = _indexes.get(engine)
    if index is None or index.version != version:
        # Version and rules in one statement, so the index never holds rules newer or
        # older than the version it is filed under.
        fetched_version, rows = await q.active_rules_with_version(conn)
        index = RuleIndex.build(fetched_version, (ParsedRule.from_row(row) for row in rows))
        _indexes[engine] = index
    return index


def award_context(event: AttemptEvent, rule: ParsedRule) -> str:
    """The context key an award from ``rule`` would get for this attempt."""
    rule_type = badge_rules.REGISTRY[rule.type]
    return str(_node(event, rule_type.scope)) if rule_type.per_node else ""


def facts_for(
    event: AttemptEvent,
    *,
    themes: dict[uuid.UUID, Counts],
    sections: dict[uuid.UUID, Counts],
    courses: dict[uuid.UUID, Counts],
    solved_total: int,
    window_counts: dict[int, int],
    fast_counts: dict[int, int],
) -> Facts:
    """The snapshot an attempt's rules are evaluated over: the attempt's own section and
    course counts (from the attempt) and the other facts as counted for its plan."""
    return Facts(
        at=event.occurred_at,
        sections={**sections, event.section_id: event.section},
        courses={**courses, event.course_id: event.course},
        themes=themes,
        current_streak=event.current_streak,
        best_day_solved=event.day_solved_tasks,
        solved_total=solved_total,
        window_counts=window_counts,
        fast_counts=fast_counts,
    )


@dataclass(frozen=True, slots=True)
class EventFacts:
    facts: Facts
    held: frozenset[int]  # positions (in the rules given) of awards the learner holds


async def event_facts(conn: raw.Connection, event: AttemptEvent, plan: EventPlan) -> EventFacts:
    """What the plan's rules read, limited to what the attempt touched, and which of their
    awards the learner already holds: one statement."""
    row = await q.event_facts(
        conn,
        user_id=event.user_id,
        held_badges=plan.badge_ids,
        held_contexts=plan.contexts,
        solved_total="solved_total" in plan.needs,
        day=event.local_day,
        window_days=plan.windows,
        fast_ms=plan.fast,
        theme_ids=plan.themes,
        section_ids=plan.sections,
        course_ids=plan.courses,
        content_version=event.content_version,
        own_theme_id=event.theme_id,
    )

    def counts(found: Any) -> dict[uuid.UUID, Counts]:
        # json columns arrive decoded (db.raw's codec): [[id, solved, total, first_try?]].
        return {uuid.UUID(id_): Counts(*numbers) for id_, *numbers in found or ()}

    facts = facts_for(
        event,
        themes=counts(row.themes),
        sections=counts(row.sections),
        courses=counts(row.courses),
        solved_total=row.solved_total or 0,
        window_counts=dict(zip(plan.windows, row.windows or [], strict=True)),
        fast_counts=dict(zip(plan.fast, row.fast or [], strict=True)),
    )
    return EventFacts(facts, frozenset(row.held or ()))


async def award_for_attempt(conn: raw.Connection, event: AttemptEvent) -> tuple[uuid.UUID, ...]:
    """Award what this solving attempt earned; returns the badges new to it, each once."""
    plan = (await rule_index(conn, event.content_version)).plan(event)
    if not plan.rules:
        return ()
    found = await event_facts(conn, event, plan)
    rules = [rule for position, rule in enumerate(plan.rules) if position not in found.held]
    awards = awards_from(
        rules, found.facts, user_id=event.user_id, attempt_id=event.attempt_id, retroactive=False
    )
    inserted = await q.insert_awards(conn, awards)
    return tuple(dict.fromkeys(row.badge_id for row in inserted))
