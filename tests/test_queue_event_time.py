"""Queue timing from event time: retry and review due times count from the attempt's
occurredAt, and a late failure dated before a solve does not reopen the task."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import make_course
from tests.graphql_client import GraphQLClient
from tests.queue_helpers import Clock, Learner, task_gid

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MakeClient = Callable[..., GraphQLClient]


async def _learner(make_client: MakeClient, engine: AsyncEngine) -> Learner:
    async with engine.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=2)
    clock = Clock(NOW)
    return Learner(make_client(clock=clock), clock, engine, tree, uuid.uuid4())


async def test_a_retry_is_due_a_delay_after_the_failure_occurred(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    # given a failure that happened 30 minutes before the server received it
    learner = await _learner(make_client, clean_db)
    task = learner.tree.task_ids[1]
    learner.clock.now = NOW - timedelta(minutes=30)
    item_clock = learner.clock.now
    learner.clock.now = NOW
    from tests.attempt_helpers import attempt_input
    from tests.queue_helpers import SUBMIT

    body = await learner.client.execute(
        SUBMIT,
        {"input": attempt_input(task, solved=False, occurred_at=item_clock)},
        user=learner.user,
    )
    assert body["data"]["submitAttempt"]["__typename"] == "SubmitAttemptSuccess"

    # then its retry (10 minutes) is due already, counted from occurredAt
    preview = await learner.preview(1)
    assert preview == [
        {
            "taskId": task_gid(task),
            "reason": "RETRY",
            "dueAt": (item_clock + timedelta(minutes=10)).isoformat(),
            "deliveries": 0,
        }
    ]


async def test_fsrs_review_due_counts_from_occurred_at(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    from tests.attempt_helpers import attempt_input
    from tests.queue_helpers import SUBMIT

    learner = await _learner(make_client, clean_db)
    await learner.set_policy({"review": "fsrs"})
    task = learner.tree.task_ids[0]
    occurred = NOW - timedelta(hours=3)
    body = await learner.client.execute(
        SUBMIT, {"input": attempt_input(task, solved=False, occurred_at=occurred)}, user=learner.user
    )
    assert body["data"]["submitAttempt"]["__typename"] == "SubmitAttemptSuccess"

    (entry,) = await learner.entries(task)
    # FSRS's first learning step is one minute after the failure
    assert (entry["state"], entry["reason"], entry["due_at"]) == (
        "queued",
        "retry",
        occurred + timedelta(minutes=1),
    )


async def test_a_late_failure_dated_before_a_solve_does_not_reopen_the_task(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    from tests.attempt_helpers import attempt_input
    from tests.queue_helpers import SUBMIT

    learner = await _learner(make_client, clean_db)
    task = learner.tree.task_ids[0]
    for solved, occurred in ((True, NOW - timedelta(hours=1)), (False, NOW - timedelta(hours=2))):
        body = await learner.client.execute(
            SUBMIT,
            {"input": attempt_input(task, solved=solved, occurred_at=occurred)},
            user=learner.user,
        )
        assert body["data"]["submitAttempt"]["__typename"] == "SubmitAttemptSuccess"

    entries = await learner.entries(task)
    assert [e for e in entries if e["state"] in ("queued", "reserved", "expired")] == []
    learner.clock.advance(days=30)
    assert task_gid(task) not in [e["taskId"] for e in await learner.preview()]
