"""Retroactive awards equal incremental ones; dry runs write nothing; reruns award nothing.
Progress toward badges costs the same statements for 3 badges as for 300."""

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import Database
from domain import attempts, badge_admin, badge_backfill
from domain.content_document import parse_document
from domain.errors import ContentImportError
from tests.conftest import StatementCounter
from tests.factories import CourseTree, make_course
from tests.graphql_client import GraphQLClient

RULES: list[tuple[str, dict[str, Any]]] = [
    ("section_completed", {}),
    ("theme_completed", {}),
    ("perfect_theme", {}),
    ("course_completed", {}),
    ("streak", {"days": 2}),
    ("daily_goal", {"tasks": 3}),
    ("solved_total", {"tasks": 5}),
    ("speed", {"maxMs": 3000, "times": 2}),
    ("count_in_window", {"solves": 4, "days": 2}),
    (
        "all_of",
        {
            "rules": [
                {"type": "streak", "criteria": {"days": 2}},
                {"type": "solved_total", "criteria": {"tasks": 3}},
            ]
        },
    ),
]
AWARD_COLUMNS = "user_id, badge_id, context_key, attempt_id, awarded_at"


async def _rules(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for index, (rule_type, criteria) in enumerate(RULES):
            badge = await badge_admin.create_badge(
                conn, key=f"b{index}", name=rule_type, description="", media={}
            )
            await badge_admin.create_rule(
                conn,
                badge_id=badge.id,
                key=f"r{index}",
                rule_type=rule_type,
                criteria=criteria,
                awards_from=None,
            )


async def _history(engine: AsyncEngine, tree: CourseTree, rng: random.Random) -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    for user in [uuid.uuid4() for _ in range(4)]:
        for _ in range(rng.randint(5, 25)):
            now += timedelta(minutes=rng.randint(1, 600))
            attempt = attempts.AttemptInput(
                id=uuid.uuid4(),
                task_id=rng.choice(tree.task_ids),
                tries=rng.randint(1, 2),
                time_spent_ms=rng.randint(500, 6000),
                solved=rng.random() < 0.7,
                occurred_at=now - timedelta(hours=rng.randint(0, 40)),
                source="web",
            )
            async with engine.begin() as conn:
                await attempts.record_attempt(
                    conn, user_id=user, attempt=attempt, now=now, policy=attempts.AttemptPolicy()
                )


async def _awards(engine: AsyncEngine) -> set[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(f"SELECT {AWARD_COLUMNS} FROM user_badge"))
        return {tuple(row) for row in rows}


async def _backfill(engine: AsyncEngine, *, dry_run: bool) -> int:
    database = Database(engine)
    context = database.rolled_back() if dry_run else database.transaction()
    async with context as conn:
        users = await badge_backfill.list_learners(conn)
        result = await badge_backfill.backfill_users(
            conn, user_ids=users, rule_ids=None, dry_run=dry_run
        )
    return sum(result.awards.values())


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_backfill_awards_exactly_what_incremental_awarding_did(
    clean_db: AsyncEngine, seed: int
) -> None:
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=2, themes=2, tasks=3)
    await _rules(clean_db)
    await _history(clean_db, tree, random.Random(seed))
    incremental = await _awards(clean_db)
    assert incremental, "the history should earn something"
    async with clean_db.begin() as conn:
        await conn.execute(text("DELETE FROM user_badge"))

    would = await _backfill(clean_db, dry_run=True)
    after_dry_run = await _awards(clean_db)
    awarded = await _backfill(clean_db, dry_run=False)
    retroactive = await _awards(clean_db)
    again = await _backfill(clean_db, dry_run=False)

    assert after_dry_run == set()
    assert would == awarded == len(incremental)
    assert retroactive == incremental
    assert again == 0
    async with clean_db.connect() as conn:
        flags = (await conn.execute(text("SELECT DISTINCT retroactive FROM user_badge"))).all()
    assert flags == [(True,)]


async def test_creating_a_rule_with_backfill_awards_learners_who_already_qualify(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    from tests.attempt_helpers import submit
    from tests.test_badges import make_badge

    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=2)
    user = uuid.uuid4()
    await submit(client, user, task_id=tree.task_ids[0])
    await submit(client, user, task_id=tree.task_ids[1])

    rule = await make_badge(client, "solved_total", {"tasks": 2}, backfill=True)
    body = await client.execute(
        "{ viewer { badges { nodes { retroactive badge { key } } } } }", user=user
    )

    assert rule["backfilledAwards"] == 1
    assert body["data"]["viewer"]["badges"]["nodes"] == [
        {"retroactive": True, "badge": {"key": rule["key"]}}
    ]


async def _progress_statements(
    client: GraphQLClient, engine: AsyncEngine, counter: StatementCounter, badges: int
) -> int:
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM badge"))
        for index in range(badges):
            # Every badge reads every kind of fact, so only the number of badges varies.
            rule_type = "any_of"
            criteria = {"rules": [{"type": t, "criteria": c} for t, c in RULES[:9]]}
            badge = await badge_admin.create_badge(
                conn, key=f"p{index}", name="x", description="", media={}
            )
            await badge_admin.create_rule(
                conn,
                badge_id=badge.id,
                key=f"p{index}",
                rule_type=rule_type,
                criteria=criteria,
                awards_from=None,
            )
    before = counter.count
    body = await client.execute(
        "{ badges(first: 100) { nodes { key ruleProgress { earned current target } } } }",
        user=uuid.uuid4(),
    )
    assert len(body["data"]["badges"]["nodes"]) == badges
    return counter.count - before


async def test_badge_progress_statement_count_does_not_grow_with_badges(
    client: GraphQLClient, clean_db: AsyncEngine, count_statements: StatementCounter
) -> None:
    async with clean_db.begin() as conn:
        await make_course(conn, sections=2, themes=2, tasks=2)

    few = await _progress_statements(client, clean_db, count_statements, 3)
    many = await _progress_statements(client, clean_db, count_statements, 100)

    assert few == many


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ({"key": "r", "type": "streak", "criteria": {"days": 0}}, "criteria.days"),
        ({"key": "r", "type": "teleport", "criteria": {}}, "type"),
        (
            {"key": "r", "type": "any_of", "criteria": {"rules": [{"type": "speed"}]}},
            "criteria.rules[0].criteria.maxMs",
        ),
    ],
)
def test_import_refuses_bad_rule_criteria_naming_the_field(rule: dict[str, Any], path: str) -> None:
    document = {
        "badges": [
            {
                "key": "b",
                "name": "B",
                "rules": [{"key": "ok", "type": "streak", "criteria": {"days": 2}}, rule],
            }
        ]
    }

    with pytest.raises(ContentImportError) as refused:
        parse_document(document)

    assert [p.path for p in refused.value.problems] == [f"badges[0].rules[1].{path}"]
