"""The quick check every rule type offers (``reached``) agrees with its full evaluation."""

import uuid
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import badge_rules
from domain.badge_facts import Counts, Facts

NODES = [uuid.UUID(int=n) for n in range(1, 4)]


@st.composite
def counts(draw: st.DrawFn) -> dict[uuid.UUID, Counts]:
    found = {}
    for node in draw(st.lists(st.sampled_from(NODES), unique=True)):
        total = draw(st.integers(0, 5))
        solved = draw(st.integers(0, total))
        found[node] = Counts(solved, total, draw(st.integers(0, solved)))
    return found


@st.composite
def facts(draw: st.DrawFn) -> Facts:
    small = st.integers(0, 12)
    return Facts(
        at=datetime(2026, 11, 20, tzinfo=UTC),
        sections=draw(counts()),
        courses=draw(counts()),
        themes=draw(counts()),
        current_streak=draw(small),
        best_day_solved=draw(small),
        solved_total=draw(small),
        window_counts={3: draw(small)},
        fast_counts={500: draw(small)},
    )


def _node() -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.sampled_from([str(n) for n in NODES]))


def _scoped(field: str) -> st.SearchStrategy[dict[str, object]]:
    return _node().map(lambda node: {} if node is None else {field: node})


LEAVES = [
    st.tuples(st.just("section_completed"), _scoped("sectionId")),
    st.tuples(st.just("course_completed"), _scoped("courseId")),
    st.tuples(st.just("theme_completed"), _scoped("themeId")),
    st.tuples(st.just("perfect_theme"), _scoped("themeId")),
    st.tuples(st.just("streak"), st.integers(2, 12).map(lambda n: {"days": n})),
    st.tuples(st.just("daily_goal"), st.integers(1, 12).map(lambda n: {"tasks": n})),
    st.tuples(
        st.just("solved_total"),
        st.tuples(st.integers(1, 12), _node()).map(
            lambda t: {"tasks": t[0]} | ({"courseId": t[1]} if t[1] else {})
        ),
    ),
    st.tuples(st.just("speed"), st.integers(1, 12).map(lambda n: {"maxMs": 500, "times": n})),
    st.tuples(
        st.just("count_in_window"), st.integers(1, 12).map(lambda n: {"solves": n, "days": 3})
    ),
]
LEAF = st.one_of(*LEAVES)
RULE = st.one_of(
    LEAF,
    st.tuples(
        st.sampled_from(["all_of", "any_of"]),
        st.lists(LEAF, min_size=1, max_size=4).map(
            lambda children: {"rules": [{"type": t, "criteria": c} for t, c in children]}
        ),
    ),
)


@settings(max_examples=400, deadline=None)
@given(rule=RULE, snapshot=facts())
def test_reached_agrees_with_the_full_evaluation(
    rule: tuple[str, dict[str, object]], snapshot: Facts
) -> None:
    rule_type, raw = rule
    criteria, problems = badge_rules.validate(rule_type, raw)
    assert criteria is not None, problems

    evaluations = badge_rules.evaluate(rule_type, criteria, snapshot)

    assert badge_rules.reached(rule_type, criteria, snapshot) == any(e.earned for e in evaluations)
