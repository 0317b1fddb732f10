"""submitAttempt: exactly once, typed refusals that write nothing, incremental state."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.attempt_helpers import SUBMIT_MANY, attempt_input, drift, submit
from tests.factories import make_course
from tests.graphql_client import GraphQLClient, error_codes


async def _count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def _tree(engine: AsyncEngine, **shape: int):  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        return await make_course(conn, **shape)


async def test_first_submission_records_state_and_progress(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _tree(clean_db, sections=2, themes=1, tasks=2)
    user = uuid.uuid4()

    result = await submit(client, user, task_id=tree.task_ids[0], time_spent_ms=1200, tries=2)

    assert result["__typename"] == "SubmitAttemptSuccess"
    assert result["replayed"] is False
    assert result["taskState"]["status"] == "SOLVED"
    assert result["taskState"]["totalTries"] == 2
    assert result["sectionProgress"] == {
        "solvedTasks": 1,
        "totalTasks": 2,
        "percentComplete": 50.0,
        "attemptsCount": 1,
        "totalTimeMs": 1200.0,
        "averageTimeMs": 1200,
    }
    assert result["courseProgress"]["percentComplete"] == 25.0
    assert result["streak"]["current"] == 1
    assert result["newBadges"] == []
    assert await drift(clean_db) == []


async def test_replay_returns_the_stored_result_and_changes_nothing(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _tree(clean_db, sections=1, themes=1, tasks=2)
    user = uuid.uuid4()
    attempt = attempt_input(tree.task_ids[0], solved=False)
    first = await client.execute(
        "mutation($input: SubmitAttemptInput!) { submitAttempt(input: $input) { __typename } }",
        {"input": attempt},
        user=user,
    )
    assert first["data"]["submitAttempt"]["__typename"] == "SubmitAttemptSuccess"
    original = await submit(
        client,
        user,
        task_id=tree.task_ids[0],
        attempt_id=uuid.UUID(attempt["id"]),
        solved=False,
        occurred_at=datetime.fromisoformat(attempt["occurredAt"]),
    )
    # A later, different attempt changes the live state but not the stored outcome.
    await submit(client, user, task_id=tree.task_ids[0], solved=True)

    replay = await submit(
        client,
        user,
        task_id=tree.task_ids[0],
        attempt_id=uuid.UUID(attempt["id"]),
        solved=False,
        occurred_at=datetime.fromisoformat(attempt["occurredAt"]),
    )

    assert replay["replayed"] is True
    assert {**replay, "replayed": False} == {**original, "replayed": False}
    assert replay["taskState"]["status"] == "IN_PROGRESS"
    assert await _count(clean_db, "user_task_attempt") == 2
    assert await drift(clean_db) == []


async def test_same_id_with_different_content_is_a_conflict_and_changes_nothing(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _tree(clean_db, sections=1, themes=1, tasks=1)
    user, attempt_id = uuid.uuid4(), uuid.uuid4()
    await submit(client, user, task_id=tree.task_ids[0], attempt_id=attempt_id, solved=False)

    result = await submit(client, user, task_id=tree.task_ids[0], attempt_id=attempt_id)

    assert result["code"] == "IDEMPOTENCY_CONFLICT"
    assert await _count(clean_db, "user_task_attempt") == 1
    async with clean_db.connect() as conn:
        status = (await conn.execute(text("SELECT status FROM user_task_state"))).scalar_one()
    assert status == "in_progress"


async def test_another_user_reusing_an_attempt_id_is_independent(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _tree(clean_db, sections=1, themes=1, tasks=1)
    attempt_id = uuid.uuid4()
    alice, bob = uuid.uuid4(), uuid.uuid4()
    await submit(client, alice, task_id=tree.task_ids[0], attempt_id=attempt_id, solved=False)

    bobs = await submit(client, bob, task_id=tree.task_ids[0], attempt_id=attempt_id)

    assert bobs["replayed"] is False
    assert bobs["taskState"]["status"] == "SOLVED"
    assert await _count(clean_db, "user_task_attempt") == 2


NOW = datetime.now(UTC)
REFUSALS = [
    ("INVALID_TRIES", {"tries": 0}),
    ("INVALID_TRIES", {"tries": 1_000_000}),
    ("INVALID_TIME_SPENT", {"time_spent_ms": -1}),
    ("INVALID_TIME_SPENT", {"time_spent_ms": 10**9}),
    ("OCCURRED_IN_FUTURE", {"occurred_at": NOW + timedelta(hours=1)}),
    ("OCCURRED_TOO_LONG_AGO", {"occurred_at": NOW - timedelta(days=365)}),
    ("PAYLOAD_TOO_LARGE", {"payload": {"answer": "x" * 20_000}}),
]


@pytest.mark.parametrize(("code", "change"), REFUSALS)
async def test_invalid_input_is_refused_and_a_corrected_retry_succeeds(
    client: GraphQLClient, clean_db: AsyncEngine, code: str, change: dict[str, object]
) -> None:
    tree = await _tree(clean_db, sections=1, themes=1, tasks=1)
    user, attempt_id = uuid.uuid4(), uuid.uuid4()

    refused = await submit(client, user, task_id=tree.task_ids[0], attempt_id=attempt_id, **change)
    written = [await _count(clean_db, t) for t in ("user_task_attempt", "user_task_state", "users")]
    retried = await submit(client, user, task_id=tree.task_ids[0], attempt_id=attempt_id)

    assert refused["code"] == code
    assert written == [0, 0, 0]
    assert retried["__typename"] == "SubmitAttemptSuccess"


async def test_unknown_and_inactive_tasks_are_refused(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _tree(clean_db, sections=1, themes=1, tasks=2)
    async with clean_db.begin() as conn:
        await conn.execute(
            text("UPDATE task SET active = false WHERE id = :id"), {"id": tree.task_ids[1]}
        )
    user = uuid.uuid4()

    unknown = await submit(client, user, task_id=uuid.uuid4())
    inactive = await submit(client, user, task_id=tree.task_ids[1])

    assert unknown["code"] == "TASK_NOT_FOUND"
    assert inactive["code"] == "TASK_INACTIVE"
    assert await _count(clean_db, "user_task_attempt") == 0


async def test_solved_counts_once_and_the_course_completes_at_100_percent(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _tree(clean_db, sections=1, themes=1, tasks=2)
    user = uuid.uuid4()

    await submit(client, user, task_id=tree.task_ids[0])
    again = await submit(client, user, task_id=tree.task_ids[0])
    last = await submit(client, user, task_id=tree.task_ids[1])

    assert again["courseProgress"]["solvedTasks"] == 1
    assert again["taskState"]["successCount"] == 2
    assert last["courseProgress"]["percentComplete"] == 100.0
    body = await client.execute(
        "{ viewer { enrollments { nodes { status completedAt } } } }", user=user
    )
    (enrollment,) = body["data"]["viewer"]["enrollments"]["nodes"]
    assert enrollment["status"] == "COMPLETED" and enrollment["completedAt"]


async def test_batch_is_processed_in_order_and_one_bad_item_sinks_nothing(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _tree(clean_db, sections=1, themes=1, tasks=3)
    user = uuid.uuid4()
    repeated = attempt_input(tree.task_ids[0], solved=False)
    inputs = [
        repeated,
        attempt_input(tree.task_ids[1], tries=0),
        {**attempt_input(tree.task_ids[1]), "taskId": "bogus"},
        repeated,
        attempt_input(tree.task_ids[0]),
    ]

    body = await client.execute(SUBMIT_MANY, {"inputs": inputs}, user=user)

    results = body["data"]["submitAttempts"]
    assert [r.get("code") or r["__typename"] for r in results] == [
        "SubmitAttemptSuccess",
        "INVALID_TRIES",
        "TASK_NOT_FOUND",
        "DUPLICATE_IN_BATCH",
        "SubmitAttemptSuccess",
    ]
    assert results[4]["taskState"]["status"] == "SOLVED"
    assert await _count(clean_db, "user_task_attempt") == 2
    assert await drift(clean_db) == []


async def test_batch_over_100_is_refused_whole(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _tree(clean_db, sections=1, themes=1, tasks=1)
    inputs = [attempt_input(tree.task_ids[0]) for _ in range(101)]

    body = await client.execute(SUBMIT_MANY, {"inputs": inputs}, user=uuid.uuid4())

    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert await _count(clean_db, "user_task_attempt") == 0


async def test_submit_needs_a_token(client: GraphQLClient, clean_db: AsyncEngine) -> None:
    tree = await _tree(clean_db, sections=1, themes=1, tasks=1)

    body = await client.execute(SUBMIT_MANY, {"inputs": [attempt_input(tree.task_ids[0])]})

    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_badge_counters_follow_every_attempt_and_equal_the_recompute(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    """Tasks ever solved, each task's fastest one-try solve (sorted, equal times kept) and
    the distinct tasks solved per day: kept by the attempt path, equal to a recompute."""
    tree = await _tree(clean_db, sections=1, themes=1, tasks=3)
    user = uuid.uuid4()
    a, b, c = tree.task_ids
    for task, ms, tries, solved in (
        (a, 9000, 1, True),
        (a, 7000, 2, True),  # two tries: not a one-try time
        (a, 4000, 1, True),  # faster: 9000 goes, 4000 comes
        (b, 4000, 1, True),  # an equal time of another task
        (b, 6000, 1, True),  # slower: nothing changes
        (c, 100, 1, False),  # not solved
        (a, 1000, 1, True),  # faster again: one 4000 goes, b's stays
    ):
        result = await submit(
            client, user, task_id=task, time_spent_ms=ms, tries=tries, solved=solved
        )
        assert result["__typename"] == "SubmitAttemptSuccess", result

    async with clean_db.connect() as conn:
        totals = (
            await conn.execute(
                text("SELECT solved_tasks, one_try_ms FROM user_totals WHERE user_id = :u"),
                {"u": user},
            )
        ).one()
        day = (
            await conn.execute(
                text("SELECT solved, solved_tasks FROM user_daily_activity WHERE user_id = :u"),
                {"u": user},
            )
        ).one()
    assert tuple(totals) == (2, [1000, 4000])
    assert tuple(day) == (6, 2)
    assert await drift(clean_db) == []
