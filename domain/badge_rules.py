"""The badge rule language: a registry of rule types, each with validated criteria and a
pure evaluator over Facts. No eval, no SQL: a rule only reads the snapshot it is given.

An evaluation says how far the learner is (``current`` of ``target``) within one context
(a section, theme or course id, or '' for the learner as a whole); the badge is awarded
once per context when ``current`` reaches ``target``.
"""

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from domain.badge_facts import Counts, Facts
from domain.errors import Problem


@dataclass(frozen=True, slots=True)
class Evaluation:
    context_key: str
    context: dict[str, str]
    current: int
    target: int

    @property
    def earned(self) -> bool:
        return self.target > 0 and self.current >= self.target


class Criteria(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def _alias(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class ScopedCriteria(Criteria):
    """Criteria about one content node, named by id or by key (resolved to the id on save)."""

    model_config = ConfigDict(alias_generator=_alias)

    @model_validator(mode="after")
    def _id_or_key(self) -> "ScopedCriteria":
        id_, key = self.scope_id(), self.scope_ref_key()
        if id_ is not None and key is not None:
            raise ValueError("give the id or the key, not both")
        return self

    def scope_id(self) -> uuid.UUID | None:
        return None

    def scope_ref_key(self) -> str | None:
        return None


class SectionScope(ScopedCriteria):
    section_id: uuid.UUID | None = None
    section_key: str | None = None

    def scope_id(self) -> uuid.UUID | None:
        return self.section_id

    def scope_ref_key(self) -> str | None:
        return self.section_key


class CourseScope(ScopedCriteria):
    course_id: uuid.UUID | None = None
    course_key: str | None = None

    def scope_id(self) -> uuid.UUID | None:
        return self.course_id

    def scope_ref_key(self) -> str | None:
        return self.course_key


class ThemeScope(ScopedCriteria):
    theme_id: uuid.UUID | None = None
    theme_key: str | None = None

    def scope_id(self) -> uuid.UUID | None:
        return self.theme_id

    def scope_ref_key(self) -> str | None:
        return self.theme_key


class StreakCriteria(Criteria):
    days: int = Field(ge=2, le=3650)


class DailyGoalCriteria(Criteria):
    tasks: int = Field(ge=1, le=1000)


class SolvedTotalCriteria(CourseScope):
    tasks: int = Field(ge=1, le=1_000_000)


class SpeedCriteria(Criteria):
    model_config = ConfigDict(alias_generator=_alias)
    max_ms: int = Field(ge=1, le=24 * 60 * 60 * 1000)
    times: int = Field(default=1, ge=1, le=100_000)


class CountInWindowCriteria(Criteria):
    solves: int = Field(ge=1, le=100_000)
    days: int = Field(ge=1, le=366)


class ChildRule(Criteria):
    type: str
    criteria: dict[str, Any] = Field(default_factory=dict)


class CompositionCriteria(Criteria):
    rules: list[ChildRule] = Field(min_length=1, max_length=10)

    @cached_property
    def parsed_children(self) -> tuple[tuple[str, Criteria], ...]:
        """The children as (type, parsed criteria), parsed once: compositions are evaluated
        on every solving attempt. Only for criteria that passed ``validate``."""
        return tuple(
            (child.type, REGISTRY[child.type].criteria.model_validate(child.criteria))
            for child in self.rules
        )


def _progress(
    counts: Mapping[uuid.UUID, Counts],
    only: uuid.UUID | None,
    name: str,
    value: Callable[[Counts], int],
) -> list[Evaluation]:
    ids = [only] if only is not None else list(counts)
    return [
        Evaluation(
            context_key=str(id_),
            context={name: str(id_)},
            current=min(value(counts[id_]), counts[id_].total),
            target=counts[id_].total,
        )
        for id_ in ids
        if id_ in counts
    ]


def _learner(current: int, target: int) -> list[Evaluation]:
    return [Evaluation(context_key="", context={}, current=min(current, target), target=target)]


@dataclass(frozen=True, slots=True)
class RuleType:
    name: str
    criteria: type[Criteria]
    scope: str  # which id the rule is indexed under: section, theme, course or learner
    evaluate: Callable[[Any, Facts], list[Evaluation]]
    # What an attempt must have done to possibly change this rule's outcome.
    needs: frozenset[str]
    # Whether the rule is earned in some context, without building its evaluations (most
    # rules an attempt looks at are not).
    reached: Callable[[Any, Facts], bool]
    # Awarded once per node of its scope (context = the node's id) rather than once.
    per_node: bool = False


def _counted(
    name: str,
    criteria: type[Criteria],
    scope: str,
    value: Callable[[Any, Facts], int],
    target: Callable[[Any], int],
    needs: frozenset[str],
) -> RuleType:
    """A rule earned once (context '') when ``value`` reaches ``target``."""
    return RuleType(
        name,
        criteria,
        scope,
        lambda c, f: _learner(value(c, f), target(c)),
        needs,
        lambda c, f: value(c, f) >= target(c),
    )


def _completion(
    name: str,
    criteria: type[ScopedCriteria],
    scope: str,
    counts_of: Callable[[Facts], Mapping[uuid.UUID, Counts]],
    context_name: str,
    value: Callable[[Counts], int],
    needs: frozenset[str],
) -> RuleType:
    """A rule earned per node (the given one, or any) when ``value`` reaches its total."""

    def evaluate(c: Any, f: Facts) -> list[Evaluation]:
        return _progress(counts_of(f), c.scope_id(), context_name, value)

    def reached(c: Any, f: Facts) -> bool:
        counts, only = counts_of(f), c.scope_id()
        for id_ in (only,) if only is not None else counts:
            n = counts.get(id_)
            if n is not None and n.total > 0 and value(n) >= n.total:
                return True
        return False

    return RuleType(name, criteria, scope, evaluate, needs, reached, per_node=True)


def _composition(require_all: bool) -> RuleType:
    """Earned when all (or any one) of the children are reached."""

    def reached_children(criteria: CompositionCriteria, facts: Facts) -> int:
        return sum(
            reached(child_type, parsed, facts) for child_type, parsed in criteria.parsed_children
        )

    return _counted(
        "all_of" if require_all else "any_of",
        CompositionCriteria,
        "learner",
        reached_children,
        lambda criteria: len(criteria.rules) if require_all else 1,
        frozenset(),
    )


REGISTRY: dict[str, RuleType] = {
    rule.name: rule
    for rule in (
        _completion(
            "section_completed",
            SectionScope,
            "section",
            lambda f: f.sections,
            "sectionId",
            lambda n: n.solved,
            frozenset({"sections"}),
        ),
        _completion(
            "course_completed",
            CourseScope,
            "course",
            lambda f: f.courses,
            "courseId",
            lambda n: n.solved,
            frozenset({"courses"}),
        ),
        _completion(
            "theme_completed",
            ThemeScope,
            "theme",
            lambda f: f.themes,
            "themeId",
            lambda n: n.solved,
            frozenset({"themes"}),
        ),
        _completion(
            "perfect_theme",
            ThemeScope,
            "theme",
            lambda f: f.themes,
            "themeId",
            lambda n: n.first_try,
            frozenset({"themes"}),
        ),
        _counted(
            "streak",
            StreakCriteria,
            "learner",
            lambda c, f: f.current_streak,
            lambda c: c.days,
            frozenset({"streak"}),
        ),
        _counted(
            "daily_goal",
            DailyGoalCriteria,
            "learner",
            lambda c, f: f.best_day_solved,
            lambda c: c.tasks,
            frozenset({"day"}),
        ),
        _counted(
            "solved_total",
            SolvedTotalCriteria,
            "course",
            lambda c, f: (
                (f.courses[c.course_id].solved if c.course_id in f.courses else 0)
                if c.course_id
                else f.solved_total
            ),
            lambda c: c.tasks,
            frozenset({"courses", "solved_total"}),
        ),
        _counted(
            "speed",
            SpeedCriteria,
            "learner",
            lambda c, f: f.fast_solve_count(c.max_ms),
            lambda c: c.times,
            frozenset({"fast"}),
        ),
        _counted(
            "count_in_window",
            CountInWindowCriteria,
            "learner",
            lambda c, f: f.solves_within(c.days),
            lambda c: c.solves,
            frozenset({"window"}),
        ),
        _composition(require_all=True),
        _composition(require_all=False),
    )
}

MAX_NESTING = 3


def _json_path(location: Iterable[Any], prefix: str) -> str:
    path = prefix
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def validate(
    rule_type: str, criteria: object, *, path: str = "", depth: int = 0
) -> tuple[Criteria | None, list[Problem]]:
    """Parse ``criteria`` for ``rule_type``; each problem names the JSON path of a bad field.

    ``path`` prefixes the paths ("badges[0].rules[1]."): the type is at ``{path}type``, the
    criteria at ``{path}criteria``.
    """
    rule = REGISTRY.get(rule_type)
    if rule is None:
        known = ", ".join(sorted(REGISTRY))
        return None, [Problem(f"{path}type", f"unknown rule type '{rule_type}' (known: {known})")]
    try:
        parsed = rule.criteria.model_validate(criteria)
    except ValidationError as exc:
        return None, [
            Problem(_json_path(error["loc"], f"{path}criteria"), error["msg"])
            for error in exc.errors()
        ]
    problems: list[Problem] = []
    if isinstance(parsed, CompositionCriteria):
        if depth >= MAX_NESTING:
            return None, [Problem(f"{path}criteria", f"rules nest at most {MAX_NESTING} deep")]
        for index, child in enumerate(parsed.rules):
            _, found = validate(
                child.type,
                child.criteria,
                path=f"{path}criteria.rules[{index}].",
                depth=depth + 1,
            )
            problems += found
    return (parsed if not problems else None), problems


def needs(rule_type: str, criteria: Criteria) -> frozenset[str]:
    """The facts a rule reads (compositions: their children's)."""
    rule = REGISTRY[rule_type]
    if isinstance(criteria, CompositionCriteria):
        found: frozenset[str] = frozenset()
        for child_type, parsed in criteria.parsed_children:
            found |= needs(child_type, parsed)
        return found
    return rule.needs


def evaluate(rule_type: str, criteria: Criteria, facts: Facts) -> list[Evaluation]:
    """How far the learner is on this rule, per context."""
    return REGISTRY[rule_type].evaluate(criteria, facts)


def reached(rule_type: str, criteria: Criteria, facts: Facts) -> bool:
    """Whether the rule is earned in some context, without building evaluations."""
    return REGISTRY[rule_type].reached(criteria, facts)


def scope_key(rule_type: str, criteria: Criteria) -> str:
    """The id the rule is indexed under ('' for learner-wide or "any section" rules)."""
    if isinstance(criteria, ScopedCriteria):
        scope = criteria.scope_id()
        return str(scope) if scope else ""
    return ""


def thresholds(rule_type: str, criteria: Criteria) -> tuple[frozenset[int], frozenset[int]]:
    """The window lengths (days) and speed limits (ms) a rule counts with, children included."""
    if isinstance(criteria, CompositionCriteria):
        windows: frozenset[int] = frozenset()
        fast: frozenset[int] = frozenset()
        for child_type, parsed in criteria.parsed_children:
            w, f = thresholds(child_type, parsed)
            windows, fast = windows | w, fast | f
        return windows, fast
    if isinstance(criteria, CountInWindowCriteria):
        return frozenset({criteria.days}), frozenset()
    if isinstance(criteria, SpeedCriteria):
        return frozenset(), frozenset({criteria.max_ms})
    return frozenset(), frozenset()


def scope_refs(rule_type: str, criteria: Criteria) -> frozenset[tuple[str, uuid.UUID]]:
    """The content nodes a composition's children name, as ("sections"|"themes"|"courses",
    id): an attempt elsewhere can complete the composition, so their counts are facts too.
    A plain scoped rule is only evaluated by attempts inside its node and names none."""
    if not isinstance(criteria, CompositionCriteria):
        return frozenset()
    found: set[tuple[str, uuid.UUID]] = set()
    for child_type, parsed in criteria.parsed_children:
        found |= scope_refs(child_type, parsed)
        if isinstance(parsed, ScopedCriteria) and (id_ := parsed.scope_id()) is not None:
            found.add((_FACT_OF_SCOPE[REGISTRY[child_type].scope], id_))
    return frozenset(found)


_FACT_OF_SCOPE = {"section": "sections", "theme": "themes", "course": "courses"}


# Learner-wide rules that one fact alone decides. That fact only grows, or (the current
# streak) grows only with a new streak day, so an attempt that did not grow it cannot newly
# earn them and does not evaluate them. (Completion rules are always evaluated: content
# changes move their totals without any attempt.)
_TRIGGERS = {"streak": "streak", "daily_goal": "day", "speed": "fast"}


def trigger(rule_type: str, criteria: Criteria) -> str | None:
    """The fact whose growth alone can newly earn this rule, or None: evaluate it always."""
    if isinstance(criteria, SolvedTotalCriteria):
        return "solved_total" if criteria.scope_id() is None else None
    return _TRIGGERS.get(rule_type)
