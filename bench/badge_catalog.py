"""The badge benchmark's rule catalog: 200 rules over the bench course, switched on N at a time.

Every rule is its own badge, created through the admin API (``badge_admin.create_badge`` and
``create_rule``, so criteria are validated and indexed by (type, scope_key) as in
production). The first ten rules are one of each kind; the rest follow the course's shape:
a rule per section and per theme (most of which a given attempt does not touch), and
learner-wide rules (streaks, goals, totals, speed, windows, compositions) that every
solving attempt evaluates. ``activate`` switches the first N on and the rest off.
"""

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import badge_admin

SIZE = 200


@dataclass(frozen=True)
class Content:
    """The bench course's nodes, in course order."""

    course_id: uuid.UUID
    sections: list[uuid.UUID]
    themes: list[uuid.UUID]  # section by section
    section_of_theme: dict[uuid.UUID, uuid.UUID]


@dataclass(frozen=True)
class RuleSpec:
    type: str
    criteria: dict[str, Any]
    # Which attempts fetch it: "learner" (every solving attempt), "course" (every solving
    # attempt in the course: here all of them), "section"/"theme" (attempts in that node).
    reach: str


@dataclass(frozen=True)
class CreatedRule:
    spec: RuleSpec
    id: uuid.UUID
    key: str


async def read_content(conn: asyncpg.Connection) -> Content:
    course_id: uuid.UUID = await conn.fetchval("SELECT id FROM course WHERE key = 'bench'")
    sections = await conn.fetch(
        "SELECT id FROM section WHERE course_id = $1 ORDER BY order_index", course_id
    )
    themes = await conn.fetch(
        "SELECT th.id, th.section_id FROM theme th JOIN section s ON s.id = th.section_id"
        " WHERE s.course_id = $1 ORDER BY s.order_index, th.order_index",
        course_id,
    )
    return Content(
        course_id,
        [row["id"] for row in sections],
        [row["id"] for row in themes],
        {row["id"]: row["section_id"] for row in themes},
    )


def _child(rule_type: str, criteria: dict[str, Any]) -> dict[str, Any]:
    return {"type": rule_type, "criteria": criteria}


def catalog(content: Content) -> list[RuleSpec]:
    """``SIZE`` rules; every prefix of ten or more is a mix of every kind."""
    course, sections, themes = str(content.course_id), content.sections, content.themes
    section_ids = [str(s) for s in sections]
    theme_ids = [str(t) for t in themes]

    def learner(rule_type: str, criteria: dict[str, Any]) -> RuleSpec:
        return RuleSpec(rule_type, criteria, "learner")

    first = [
        RuleSpec("section_completed", {"sectionId": section_ids[0]}, "section"),
        RuleSpec("theme_completed", {"themeId": theme_ids[0]}, "theme"),
        RuleSpec("perfect_theme", {"themeId": theme_ids[1]}, "theme"),
        RuleSpec("course_completed", {"courseId": course}, "course"),
        learner("streak", {"days": 7}),
        learner("daily_goal", {"tasks": 10}),
        learner("solved_total", {"tasks": 100}),
        learner("speed", {"maxMs": 10_000}),
        learner("count_in_window", {"solves": 20, "days": 7}),
        learner(
            "all_of",
            {
                "rules": [
                    _child("streak", {"days": 3}),
                    _child("solved_total", {"tasks": 50}),
                ]
            },
        ),
    ]
    groups: list[list[RuleSpec]] = [
        [RuleSpec("section_completed", {"sectionId": s}, "section") for s in section_ids[1:]]
        + [RuleSpec("section_completed", {}, "section")],  # any section: one award per section
        [RuleSpec("theme_completed", {"themeId": t}, "theme") for t in theme_ids[1:]],
        [RuleSpec("perfect_theme", {"themeId": t}, "theme") for t in theme_ids[:1] + theme_ids[2:]],
        [
            RuleSpec("solved_total", {"tasks": n, "courseId": course}, "course")
            for n in (250, 500, 750, 1000)
        ],
        [learner("streak", {"days": d}) for d in (2, 3, 5, 10, 14, 21, 30, 45, 60, 100, 180, 365)],
        [
            learner("daily_goal", {"tasks": n})
            for n in (1, 3, 5, 15, 20, 25, 30, 40, 50, 75, 100, 200)
        ],
        [
            learner("solved_total", {"tasks": n})
            for n in (1, 10, 25, 50, 150, 200, 300, 400, 600, 800, 900, 1000)
        ],
        [
            learner("speed", {"maxMs": ms, "times": times})
            for ms, times in (
                (2_000, 1),
                (3_000, 1),
                (5_000, 1),
                (5_000, 5),
                (10_000, 5),
                (10_000, 25),
                (15_000, 1),
                (15_000, 10),
                (20_000, 50),
                (30_000, 100),
                (45_000, 200),
                (60_000, 500),
            )
        ],
        [
            learner("count_in_window", {"solves": n, "days": d})
            for n, d in (
                (5, 1),
                (10, 1),
                (50, 1),
                (10, 7),
                (50, 7),
                (100, 7),
                (30, 30),
                (100, 30),
                (300, 30),
                (500, 90),
                (1000, 180),
                (2000, 365),
            )
        ],
        _compositions(section_ids, theme_ids),
    ]
    # Spread evenly after the first ten, so a catalog cut anywhere keeps the proportions.
    rules = (first + _spread(groups))[:SIZE]
    assert len(rules) == SIZE, len(rules)
    return rules


def _compositions(sections: Sequence[str], themes: Sequence[str]) -> list[RuleSpec]:
    """Nine all_of and nine any_of rules, some over scoped children, one nested."""
    found = []
    for index in range(9):
        section, theme = sections[index % len(sections)], themes[(7 * index + 3) % len(themes)]
        found.append(
            RuleSpec(
                "all_of",
                {
                    "rules": [
                        _child("section_completed", {"sectionId": section}),
                        _child("speed", {"maxMs": 5_000 * (1 + index % 3), "times": 3 + index}),
                    ]
                    if index % 2
                    else [
                        _child("streak", {"days": 5 + index}),
                        _child("daily_goal", {"tasks": 5 + index}),
                        _child("perfect_theme", {"themeId": theme}),
                    ]
                },
                "learner",
            )
        )
        found.append(
            RuleSpec(
                "any_of",
                {
                    "rules": [
                        _child("count_in_window", {"solves": 40 + 10 * index, "days": 7}),
                        _child("theme_completed", {"themeId": theme}),
                    ]
                    if index % 3
                    else [
                        _child("streak", {"days": 30 + index}),
                        _child(
                            "all_of",
                            {
                                "rules": [
                                    _child("solved_total", {"tasks": 600 + 50 * index}),
                                    _child("speed", {"maxMs": 8_000, "times": 20}),
                                ]
                            },
                        ),
                    ]
                },
                "learner",
            )
        )
    return found


def _spread(groups: list[list[RuleSpec]]) -> list[RuleSpec]:
    """The groups merged evenly: each keeps its order and about its share of every prefix."""
    taken = [0] * len(groups)
    merged: list[RuleSpec] = []
    for _ in range(sum(len(group) for group in groups)):
        # The group furthest behind its share so far goes next.
        index = min(
            (i for i, group in enumerate(groups) if taken[i] < len(group)),
            key=lambda i: ((taken[i] + 0.5) / len(groups[i]), i),
        )
        merged.append(groups[index][taken[index]])
        taken[index] += 1
    return merged


async def create(engine: AsyncEngine, specs: Sequence[RuleSpec]) -> list[CreatedRule]:
    """One badge per rule, through the admin API, in one transaction; all start active."""
    created = []
    async with engine.begin() as conn:
        for index, spec in enumerate(specs):
            key = f"bench-{index:03d}-{spec.type}"
            badge = await badge_admin.create_badge(
                conn, key=key, name=f"Bench {index} ({spec.type})", description="", media={}
            )
            rule = await badge_admin.create_rule(
                conn,
                badge_id=badge.id,
                key=key,
                rule_type=spec.type,
                criteria=spec.criteria,
                awards_from=None,
            )
            created.append(CreatedRule(spec, rule.id, key))
    return created


async def activate(engine: AsyncEngine, rules: Sequence[CreatedRule], count: int) -> None:
    """The first ``count`` rules active, the others not; then fresh planner statistics."""
    async with engine.begin() as conn:
        for index, rule in enumerate(rules):
            await badge_admin.set_rule_active(conn, rule_id=rule.id, active=index < count)
    async with engine.connect() as conn:
        await conn.exec_driver_sql("ANALYZE badge, badge_rule")
        await conn.commit()


def composition(rules: Sequence[CreatedRule], count: int) -> dict[str, Any]:
    """What the first ``count`` rules are, by type and by reach."""
    active = [rule.spec for rule in rules[:count]]
    return {
        "rules": len(active),
        "by_type": dict(sorted(Counter(spec.type for spec in active).items())),
        "by_reach": dict(sorted(Counter(spec.reach for spec in active).items())),
    }


def touched_by(rule: RuleSpec, theme_id: uuid.UUID, content: Content) -> bool:
    """Whether a solving attempt on a task of ``theme_id`` fetches this rule."""
    if rule.reach in ("learner", "course"):
        return True
    if rule.reach == "section":
        section = rule.criteria.get("sectionId")
        return section is None or section == str(content.section_of_theme[theme_id])
    return rule.criteria.get("themeId") == str(theme_id)
