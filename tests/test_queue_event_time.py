"""Queue timing from event time: retry and review due times count from the attempt's
occurredAt, and a late failure dated before a solve does not reopen the task."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.attempt_helpers import attempt_input
from tests.factories import make_course
from tests.graphql_client import GraphQLClient
from tests.queue_helpers import SUBMIT, Clock, Learner, task_gid

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MakeClient = Callable[..., GraphQLClient]


async def _learner(make_client: MakeClient, engine: AsyncEngine) -> Learner:
    async with engine.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=2)
    clock = Clock(NOW)
    return Learner(make_client(clock=clock), clock, engine, tree, uuid.uuid4())


async def _submit(learner: Learner, task: uuid.UUID, *, solved: bool, at: datetime) -> None:
    item = attempt_input(task, solved=solved, occurred_at=at)
    body = await learner.client.execute(SUBMIT, {"input": item}, user=learner.user)
    assert body["data"]["submitAttempt"]["__typename"] == "SubmitAttemptSuccess", body


async def test_a_retry_is_due_a_delay_after_the_failure_occurred(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    # given a failure that happened 30 minutes before the server received it
    learner = await _learner(make_client, clean_db)
    task = learner.tree.task_ids[1]
    occurred = NOW - timedelta(minutes=30)
    await _submit(learner, task, solved=False, at=occurred)

    # then its retry (10 minutes) is due already, counted from occurredAt
    assert await learner.preview(1) == [
        {
            "taskId": task_gid(task),
            "reason": "RETRY",
            "dueAt": (occurred + timedelta(minutes=10)).isoformat(),
            "deliveries": 0,
        }
    ]


async def test_late_failures_count_from_the_latest_failure_whatever_the_arrival_order(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    # given two failures received newest first
    learner = await _learner(make_client, clean_db)
    task = learner.tree.task_ids[0]
    await _submit(learner, task, solved=False, at=NOW - timedelta(minutes=5))
    await _submit(learner, task, solved=False, at=NOW - timedelta(minutes=50))

    # then the second retry (1 hour) counts from the latest failure, not the late one
    (entry,) = [e for e in await learner.entries(task) if e["state"] == "queued"]
    assert (entry["reason"], entry["due_at"]) == ("retry", NOW + timedelta(minutes=55))


async def test_fsrs_review_due_counts_from_occurred_at(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db)
    await learner.set_policy({"review": "fsrs"})
    task = learner.tree.task_ids[0]
    occurred = NOW - timedelta(hours=3)
    await _submit(learner, task, solved=False, at=occurred)

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
    learner = await _learner(make_client, clean_db)
    task = learner.tree.task_ids[0]
    await _submit(learner, task, solved=True, at=NOW - timedelta(hours=1))
    await _submit(learner, task, solved=False, at=NOW - timedelta(hours=2))

    entries = await learner.entries(task)
    assert [e for e in entries if e["state"] in ("queued", "reserved", "expired")] == []
    learner.clock.advance(days=30)
    assert task_gid(task) not in [e["taskId"] for e in await learner.preview()]
