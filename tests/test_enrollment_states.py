"""Enrollment states with meaning: a paused course is not served and its retries do not
come due; attempts on it are still recorded and resume nothing; resuming restores the queue."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gql.ids import to_global_id
from tests.factories import make_course
from tests.graphql_client import GraphQLClient
from tests.queue_helpers import Clock, Learner, task_gid

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MakeClient = Callable[..., GraphQLClient]
CHANGE = """
  __typename
  ... on EnrollmentSuccess { enrollment { status } }
  ... on EnrollmentError { code message }
"""
ENROLL = f"mutation($id: ID!) {{ enroll(courseId: $id) {{ {CHANGE} }} }}"
PAUSE = f"mutation($id: ID!) {{ pauseCourse(courseId: $id) {{ {CHANGE} }} }}"
RESUME = f"mutation($id: ID!) {{ resumeCourse(courseId: $id) {{ {CHANGE} }} }}"
STATUS = "{ viewer { enrollments { nodes { status } } } }"


async def _learner(make_client: MakeClient, engine: AsyncEngine, tasks: int = 3) -> Learner:
    async with engine.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=tasks)
    clock = Clock(NOW)
    return Learner(make_client(clock=clock), clock, engine, tree, uuid.uuid4())


async def _change(learner: Learner, mutation: str) -> dict[str, Any]:
    course = to_global_id("Course", learner.tree.course_id)
    body = await learner.client.execute(mutation, {"id": course}, user=learner.user)
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


async def _status(learner: Learner) -> list[str]:
    body = await learner.client.execute(STATUS, user=learner.user)
    return [node["status"] for node in body["data"]["viewer"]["enrollments"]["nodes"]]


async def test_a_paused_course_is_not_served_and_resuming_restores_its_queue(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db)
    first = learner.tree.task_ids[0]
    await _change(learner, ENROLL)
    await learner.submit(first, solved=False)  # a retry due in 10 minutes

    paused = await _change(learner, PAUSE)
    learner.clock.advance(hours=2)

    # nothing is served while paused, not even the retry that came due
    refused = await learner.reserve(5)
    assert refused == {
        "__typename": "ReserveTasksError",
        "code": "COURSE_PAUSED",
        "message": refused["message"],
    }
    assert await learner.preview() == []
    assert await learner.entries(first) == [
        {
            "state": "queued",
            "reason": "retry",
            "due_at": NOW + timedelta(minutes=10),
            "deliveries": 0,
            "lease_token": None,
        }
    ]
    assert paused["enrollment"] == {"status": "PAUSED"}

    # resuming serves the retry first, at the due time it had (it passed during the pause)
    resumed = await _change(learner, RESUME)
    assert resumed["enrollment"] == {"status": "ACTIVE"}
    preview = await learner.preview(2)
    assert preview[0] == {
        "taskId": task_gid(first),
        "reason": "RETRY",
        "dueAt": (NOW + timedelta(minutes=10)).isoformat(),
        "deliveries": 0,
    }
    served = await learner.reserved(1)
    assert [r["taskId"] for r in served] == [task_gid(first)]


async def test_attempts_on_a_paused_course_are_recorded_and_resume_nothing(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db)
    first, second = learner.tree.task_ids[:2]
    await _change(learner, ENROLL)
    await _change(learner, PAUSE)

    # an offline sync arrives while paused: a solve and a failure
    solved = await learner.submit(first, solved=True)
    failed = await learner.submit(second, solved=False)
    learner.clock.advance(hours=1)

    assert solved["taskState"]["status"] == "SOLVED"
    assert failed["taskState"] == {"status": "IN_PROGRESS", "failureCount": 1}
    assert await _status(learner) == ["PAUSED"]
    assert await learner.preview() == []
    assert (await learner.reserve())["__typename"] == "ReserveTasksError"

    await _change(learner, RESUME)
    preview = await learner.preview()
    assert [(e["taskId"], e["reason"]) for e in preview] == [
        (task_gid(second), "RETRY"),
        (task_gid(learner.tree.task_ids[2]), "NEW"),
    ]


async def test_a_paused_course_can_be_paused_and_resumed_twice_at_once(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    import asyncio

    learner = await _learner(make_client, clean_db)
    await _change(learner, ENROLL)
    pauses = await asyncio.gather(*(_change(learner, PAUSE) for _ in range(2)))
    assert [p["enrollment"] for p in pauses] == [{"status": "PAUSED"}] * 2
    resumes = await asyncio.gather(*(_change(learner, RESUME) for _ in range(2)))
    assert [p["enrollment"] for p in resumes] == [{"status": "ACTIVE"}] * 2
    assert (await learner.reserve(1))["__typename"] == "ReserveTasksSuccess"
