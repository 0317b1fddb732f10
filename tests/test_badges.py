"""Badges: each rule type awards at exactly its threshold, once, inside the attempt."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gql.ids import to_global_id
from tests.attempt_helpers import submit
from tests.clock import Clock
from tests.factories import CourseTree, make_course
from tests.graphql_client import GraphQLClient, error_codes

ADMIN = uuid.uuid4()
CREATE_BADGE = """mutation($input: CreateBadgeInput!) { createBadge(input: $input) {
  ... on BadgeSuccess { badge { id key } }
  ... on BadgeAdminError { code message problems { path message } } } }"""
CREATE_RULE = """mutation($input: CreateBadgeRuleInput!) { createBadgeRule(input: $input) {
  __typename
  ... on BadgeRuleSuccess { rule { id ruleType criteria } backfilledAwards }
  ... on BadgeAdminError { code message problems { path message } } } }"""
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


async def _admin(client: GraphQLClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = await client.execute(query, variables, token=client.token(ADMIN, admin=True))
    assert "errors" not in body, body
    return body["data"]


async def make_badge(
    client: GraphQLClient, rule_type: str, criteria: dict[str, Any], *, backfill: bool = False
) -> dict[str, Any]:
    """A badge with one rule; returns the createBadgeRule payload with the badge's key."""
    key = f"badge-{uuid.uuid4().hex[:8]}"
    badge = (await _admin(client, CREATE_BADGE, {"input": {"key": key, "name": key}}))[
        "createBadge"
    ]["badge"]
    rule = (
        await _admin(
            client,
            CREATE_RULE,
            {
                "input": {
                    "badgeId": badge["id"],
                    "key": f"{key}/rule",
                    "type": rule_type,
                    "criteria": criteria,
                    "backfill": backfill,
                }
            },
        )
    )["createBadgeRule"]
    assert rule["__typename"] == "BadgeRuleSuccess", rule
    return {**rule, "key": key, "badge_id": badge["id"]}


async def _tree(engine: AsyncEngine, **shape: int) -> CourseTree:
    async with engine.begin() as conn:
        return await make_course(conn, **shape)


async def _earned_after_each(
    client: GraphQLClient, user: uuid.UUID, attempts: list[dict[str, Any]]
) -> list[list[str]]:
    earned = []
    for attempt in attempts:
        result = await submit(client, user, **attempt)
        assert result["__typename"] == "SubmitAttemptSuccess", result
        earned.append([b["key"] for b in result["newBadges"]])
    return earned


async def test_section_completed_awards_on_the_last_task_and_not_before(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _tree(clean_db, sections=2, themes=1, tasks=3)
    badge = await make_badge(client, "section_completed", {"sectionId": str(tree.section_ids[0])})
    user = uuid.uuid4()

    earned = await _earned_after_each(
        client,
        user,
        [
            {"task_id": tree.task_ids[0]},
            {"task_id": tree.task_ids[1], "solved": False},
            {"task_id": tree.task_ids[1]},
            {"task_id": tree.task_ids[3]},  # another section
            {"task_id": tree.task_ids[2]},
            {"task_id": tree.task_ids[2]},
        ],
    )

    assert earned == [[], [], [], [], [badge["key"]], []]


async def test_any_section_awards_once_per_section(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _tree(clean_db, sections=2, themes=1, tasks=1)
    badge = await make_badge(client, "section_completed", {})
    user = uuid.uuid4()

    earned = await _earned_after_each(
        client, user, [{"task_id": tree.task_ids[0]}, {"task_id": tree.task_ids[1]}]
    )
    body = await client.execute(
        "{ viewer { badges { nodes { context badge { key } } } } }", user=user
    )

    assert earned == [[badge["key"]], [badge["key"]]]
    contexts = {n["context"]["sectionId"] for n in body["data"]["viewer"]["badges"]["nodes"]}
    assert contexts == {to_global_id("Section", s) for s in tree.section_ids}


@pytest.mark.parametrize(
    ("rule_type", "scope"),
    [("course_completed", "courseId"), ("theme_completed", "themeId")],
)
async def test_course_and_theme_completed_award_at_the_last_task(
    client: GraphQLClient, clean_db: AsyncEngine, rule_type: str, scope: str
) -> None:
    tree = await _tree(clean_db, sections=1, themes=1, tasks=2)
    scope_id = tree.course_id if scope == "courseId" else tree.theme_ids[0]
    badge = await make_badge(client, rule_type, {scope: str(scope_id)})

    earned = await _earned_after_each(
        client, uuid.uuid4(), [{"task_id": tree.task_ids[0]}, {"task_id": tree.task_ids[1]}]
    )

    assert earned == [[], [badge["key"]]]


async def test_streak_counts_local_days_in_the_learners_timezone(
    make_client, clean_db: AsyncEngine
) -> None:
    clock = Clock(NOW)
    client = make_client(clock=clock)
    tree = await _tree(clean_db, sections=1, themes=1, tasks=4)
    badge = await make_badge(client, "streak", {"days": 3})
    user = uuid.uuid4()
    await client.execute(
        'mutation { updateViewer(input: {timezone: "Pacific/Kiritimati"}) { __typename } }',
        user=user,
    )
    # 10:30 UTC is 00:30 the next day in Kiritimati (UTC+14): each solve is a new local day.
    base = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)

    earned = []
    for n, occurred_at in enumerate(
        (base, base + timedelta(hours=13), base + timedelta(days=1), base + timedelta(days=2))
    ):
        clock.now = occurred_at + timedelta(minutes=5)  # received within the grace period
        earned += await _earned_after_each(
            client, user, [{"task_id": tree.task_ids[n], "occurred_at": occurred_at}]
        )

    # UTC days 17, 17, 18, 19 are Kiritimati days 18, 18 (23:30), 19, 20.
    assert earned == [[], [], [], [badge["key"]]]


async def test_daily_goal_counts_distinct_tasks_on_one_local_day(
    make_client, clean_db: AsyncEngine
) -> None:
    client = make_client(clock=Clock(NOW))
    tree = await _tree(clean_db, sections=1, themes=1, tasks=4)
    badge = await make_badge(client, "daily_goal", {"tasks": 3})
    user = uuid.uuid4()
    day = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)

    earned = await _earned_after_each(
        client,
        user,
        [
            {"task_id": tree.task_ids[0], "occurred_at": day},
            {"task_id": tree.task_ids[0], "occurred_at": day + timedelta(hours=1)},
            {"task_id": tree.task_ids[1], "occurred_at": day + timedelta(hours=2)},
            {"task_id": tree.task_ids[2], "occurred_at": day + timedelta(days=1)},
            {"task_id": tree.task_ids[3], "occurred_at": day + timedelta(hours=3)},
        ],
    )

    assert earned == [[], [], [], [], [badge["key"]]]


async def test_solved_total_counts_distinct_tasks(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _tree(clean_db, sections=1, themes=1, tasks=3)
    badge = await make_badge(client, "solved_total", {"tasks": 2})

    earned = await _earned_after_each(
        client,
        uuid.uuid4(),
        [
            {"task_id": tree.task_ids[0]},
            {"task_id": tree.task_ids[0]},
            {"task_id": tree.task_ids[1], "solved": False},
            {"task_id": tree.task_ids[1]},
        ],
    )

    assert earned == [[], [], [], [badge["key"]]]


async def test_speed_needs_one_try_under_the_limit_the_given_number_of_times(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _tree(clean_db, sections=1, themes=1, tasks=4)
    badge = await make_badge(client, "speed", {"maxMs": 5000, "times": 2})

    earned = await _earned_after_each(
        client,
        uuid.uuid4(),
        [
            {"task_id": tree.task_ids[0], "time_spent_ms": 4000},
            {"task_id": tree.task_ids[1], "time_spent_ms": 6000},
            {"task_id": tree.task_ids[2], "time_spent_ms": 1000, "tries": 2},
            {"task_id": tree.task_ids[0], "time_spent_ms": 100},
            {"task_id": tree.task_ids[3], "time_spent_ms": 5000},
        ],
    )

    assert earned == [[], [], [], [], [badge["key"]]]


async def test_perfect_theme_needs_every_task_first_try(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _tree(clean_db, sections=1, themes=2, tasks=2)
    badge = await make_badge(client, "perfect_theme", {})
    user = uuid.uuid4()

    earned = await _earned_after_each(
        client,
        user,
        [
            {"task_id": tree.task_ids[0]},
            {"task_id": tree.task_ids[2], "solved": False},
            {"task_id": tree.task_ids[2]},
            {"task_id": tree.task_ids[3]},
            {"task_id": tree.task_ids[1]},
        ],
    )

    # Theme 2 had a failure; theme 1 is perfect once its second task is solved.
    assert earned == [[], [], [], [], [badge["key"]]]


async def test_count_in_window_counts_solves_on_the_last_local_days(
    make_client, clean_db: AsyncEngine
) -> None:
    """The window is the learner's last ``days`` calendar days, the attempt's day included:
    a solve three days before (72 h earlier, within a 3 × 24 h span) does not count."""
    client = make_client(clock=Clock(NOW))
    tree = await _tree(clean_db, sections=1, themes=1, tasks=4)
    badge = await make_badge(client, "count_in_window", {"solves": 3, "days": 3})
    start = NOW - timedelta(days=10)

    earned = await _earned_after_each(
        client,
        uuid.uuid4(),
        [
            {"task_id": tree.task_ids[0], "occurred_at": start},
            {"task_id": tree.task_ids[1], "occurred_at": start + timedelta(days=2)},
            {"task_id": tree.task_ids[2], "occurred_at": start + timedelta(days=3)},
            {"task_id": tree.task_ids[3], "occurred_at": start + timedelta(days=4)},
        ],
    )

    assert earned == [[], [], [], [badge["key"]]]


async def test_all_of_and_any_of_compose_other_rules(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _tree(clean_db, sections=1, themes=1, tasks=3)
    both = await make_badge(
        client,
        "all_of",
        {
            "rules": [
                {"type": "solved_total", "criteria": {"tasks": 2}},
                {"type": "speed", "criteria": {"maxMs": 500}},
            ]
        },
    )
    either = await make_badge(
        client,
        "any_of",
        {
            "rules": [
                {"type": "solved_total", "criteria": {"tasks": 3}},
                {"type": "speed", "criteria": {"maxMs": 500}},
            ]
        },
    )

    earned = await _earned_after_each(
        client,
        uuid.uuid4(),
        [
            {"task_id": tree.task_ids[0], "time_spent_ms": 9000},
            {"task_id": tree.task_ids[1], "time_spent_ms": 9000},
            {"task_id": tree.task_ids[2], "time_spent_ms": 100},
        ],
    )

    assert earned[:2] == [[], []]
    assert set(earned[2]) == {both["key"], either["key"]}


async def test_a_composition_counts_a_node_completed_before_elsewhere(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    """The last condition met by an attempt in another section still completes it."""
    tree = await _tree(clean_db, sections=2, themes=1, tasks=2)
    badge = await make_badge(
        client,
        "all_of",
        {
            "rules": [
                {"type": "section_completed", "criteria": {"sectionId": str(tree.section_ids[0])}},
                {"type": "perfect_theme", "criteria": {"themeId": str(tree.theme_ids[0])}},
                {"type": "solved_total", "criteria": {"tasks": 4}},
            ]
        },
    )

    earned = await _earned_after_each(
        client, uuid.uuid4(), [{"task_id": task} for task in tree.task_ids]
    )

    assert earned == [[], [], [], [badge["key"]]]


async def test_a_deactivated_rule_stops_awarding_at_once(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    """Rules are cached per content version: the next attempt sees the change."""
    tree = await _tree(clean_db, sections=1, themes=1, tasks=3)
    badge = await make_badge(client, "solved_total", {"tasks": 2})
    user = uuid.uuid4()
    assert await _earned_after_each(client, user, [{"task_id": tree.task_ids[0]}]) == [[]]
    body = await _admin(
        client,
        "mutation($id: ID!) { setBadgeRuleActive(id: $id, active: false) { __typename } }",
        {"id": badge["rule"]["id"]},
    )
    assert body["setBadgeRuleActive"]["__typename"] == "BadgeRuleSuccess"

    assert await _earned_after_each(client, user, [{"task_id": tree.task_ids[1]}]) == [[]]

    await _admin(
        client,
        "mutation($id: ID!) { setBadgeRuleActive(id: $id, active: true) { __typename } }",
        {"id": badge["rule"]["id"]},
    )
    assert await _earned_after_each(client, user, [{"task_id": tree.task_ids[2]}]) == [
        [badge["key"]]
    ]


async def test_a_rule_decided_by_one_fact_is_evaluated_when_an_attempt_grows_it(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    """A rule created after its threshold was passed (without backfill) is awarded by the
    next attempt that grows its fact; re-solving a solved task grows no total."""
    tree = await _tree(clean_db, sections=1, themes=1, tasks=3)
    user = uuid.uuid4()
    assert await _earned_after_each(client, user, [{"task_id": tree.task_ids[0]}]) == [[]]
    badge = await make_badge(client, "solved_total", {"tasks": 1})

    earned = await _earned_after_each(
        client, user, [{"task_id": tree.task_ids[0]}, {"task_id": tree.task_ids[1]}]
    )

    assert earned == [[], [badge["key"]]]


async def _set_task_active(engine: AsyncEngine, task_id: uuid.UUID, active: bool) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE task SET active = :a WHERE id = :t"), {"a": active, "t": task_id}
        )


@pytest.mark.parametrize("change", ["attempt in the theme", "content change"])
async def test_a_composition_sees_a_named_themes_counts_change(
    client: GraphQLClient, clean_db: AsyncEngine, change: str
) -> None:
    """A theme named by a composition is counted once and kept per content version; an
    attempt in that theme and a content change each bring the counts up to date."""
    tree = await _tree(clean_db, sections=1, themes=2, tasks=2)
    x1, x2, y1, y2 = tree.task_ids  # theme X: x1, x2; theme Y: y1, y2
    solves = {"attempt in the theme": 4, "content change": 3}[change]
    badge = await make_badge(
        client,
        "all_of",
        {
            "rules": [
                {"type": "theme_completed", "criteria": {"themeId": str(tree.theme_ids[0])}},
                {"type": "solved_total", "criteria": {"tasks": solves}},
            ]
        },
    )
    user = uuid.uuid4()
    # X is counted (1 of 2) and kept while Y's first task is solved.
    assert await _earned_after_each(client, user, [{"task_id": x1}, {"task_id": y1}]) == [[], []]

    if change == "attempt in the theme":
        assert await _earned_after_each(client, user, [{"task_id": x2}]) == [[]]  # 3 solved
    else:
        await _set_task_active(clean_db, x2, False)  # X: 1 of 1

    assert await _earned_after_each(client, user, [{"task_id": y2}]) == [[badge["key"]]]


BAD_RULES = [
    ("streak", {"days": 1}, "criteria.days"),
    ("streak", {"days": 3, "extra": True}, "criteria.extra"),
    ("speed", {"maxMs": "fast"}, "criteria.maxMs"),
    ("nonsense", {}, "type"),
    (
        "all_of",
        {"rules": [{"type": "streak", "criteria": {"days": "x"}}]},
        "criteria.rules[0].criteria.days",
    ),
    ("section_completed", {"sectionKey": "no-such-section"}, "criteria.sectionKey"),
]


@pytest.mark.parametrize(("rule_type", "criteria", "path"), BAD_RULES)
async def test_bad_criteria_are_refused_naming_the_field_and_nothing_is_stored(
    client: GraphQLClient,
    clean_db: AsyncEngine,
    rule_type: str,
    criteria: dict[str, Any],
    path: str,
) -> None:
    badge = (await _admin(client, CREATE_BADGE, {"input": {"key": "b", "name": "B"}}))[
        "createBadge"
    ]["badge"]

    result = (
        await _admin(
            client,
            CREATE_RULE,
            {
                "input": {
                    "badgeId": badge["id"],
                    "key": "r",
                    "type": rule_type,
                    "criteria": criteria,
                }
            },
        )
    )["createBadgeRule"]

    assert result["code"] == "INVALID_CRITERIA"
    assert path in [p["path"] for p in result["problems"]]
    async with clean_db.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM badge_rule"))).scalar() == 0


async def test_admin_mutations_need_the_admin_role(client: GraphQLClient) -> None:
    body = await client.execute(
        CREATE_BADGE, {"input": {"key": "b", "name": "B"}}, user=uuid.uuid4()
    )

    assert error_codes(body) == ["FORBIDDEN"]


async def test_replay_returns_the_badges_of_the_first_submission(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _tree(clean_db, sections=1, themes=1, tasks=1)
    badge = await make_badge(client, "solved_total", {"tasks": 1})
    user, attempt_id = uuid.uuid4(), uuid.uuid4()
    occurred = datetime.now(UTC)

    first = await submit(
        client, user, task_id=tree.task_ids[0], attempt_id=attempt_id, occurred_at=occurred
    )
    replay = await submit(
        client, user, task_id=tree.task_ids[0], attempt_id=attempt_id, occurred_at=occurred
    )

    assert [b["key"] for b in first["newBadges"]] == [badge["key"]]
    assert replay["replayed"] is True
    assert replay["newBadges"] == first["newBadges"]
    async with clean_db.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM user_badge"))).scalar() == 1


async def test_concurrent_last_tasks_award_one_section_badge_reported_once(
    make_client, clean_db: AsyncEngine
) -> None:
    client = make_client()
    tree = await _tree(clean_db, sections=1, themes=1, tasks=50)
    badge = await make_badge(client, "section_completed", {})
    user = uuid.uuid4()

    results = await asyncio.gather(*(submit(client, user, task_id=task) for task in tree.task_ids))

    reported = [r for r in results if r["newBadges"]]
    assert len(reported) == 1
    assert [b["key"] for b in reported[0]["newBadges"]] == [badge["key"]]
    async with clean_db.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM user_badge"))).scalar() == 1


async def test_badge_progress_explains_how_far_the_viewer_is(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _tree(clean_db, sections=1, themes=1, tasks=5)
    await make_badge(client, "solved_total", {"tasks": 4})
    user = uuid.uuid4()
    for task in tree.task_ids[:3]:
        await submit(client, user, task_id=task)

    body = await client.execute(
        "{ badges { nodes { key ruleProgress { ruleType earned current target awardedAt } } } }",
        user=user,
    )

    (badge,) = body["data"]["badges"]["nodes"]
    assert badge["ruleProgress"] == [
        {"ruleType": "solved_total", "earned": False, "current": 3, "target": 4, "awardedAt": None}
    ]


@pytest.mark.parametrize(
    ("rule_type", "criteria", "current", "target"),
    [
        ("daily_goal", {"tasks": 5}, 2, 5),  # two distinct tasks today (one solved twice)
        ("speed", {"maxMs": 1000, "times": 4}, 1, 4),  # one task solved in one try ≤ 1 s
        ("count_in_window", {"solves": 10, "days": 2}, 3, 10),  # three solves today
    ],
)
async def test_badge_progress_reads_the_day_speed_and_window_counters(
    make_client,
    clean_db: AsyncEngine,
    rule_type: str,
    criteria: dict[str, Any],
    current: int,
    target: int,
) -> None:
    client = make_client(clock=Clock(NOW))
    tree = await _tree(clean_db, sections=1, themes=1, tasks=3)
    await make_badge(client, rule_type, criteria)
    user = uuid.uuid4()
    three_days_ago = NOW - timedelta(days=3)
    for attempt in (
        # Outside every window, too slow to count for speed:
        {"task_id": tree.task_ids[2], "occurred_at": three_days_ago, "time_spent_ms": 5000},
        {"task_id": tree.task_ids[0], "occurred_at": NOW, "time_spent_ms": 500},
        {"task_id": tree.task_ids[0], "occurred_at": NOW, "time_spent_ms": 5000},
        {"task_id": tree.task_ids[1], "occurred_at": NOW, "time_spent_ms": 800, "tries": 2},
    ):
        result = await submit(client, user, **attempt)
        assert result["__typename"] == "SubmitAttemptSuccess", result

    body = await client.execute(
        "{ badges { nodes { ruleProgress { current target } } } }", user=user
    )

    (badge,) = body["data"]["badges"]["nodes"]
    assert badge["ruleProgress"] == [{"current": current, "target": target}]
