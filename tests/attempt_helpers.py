"""Submitting attempts through the API, and checking the recompute invariant."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import Database
from domain import recompute
from gql.ids import to_global_id
from tests.graphql_client import GraphQLClient

SUBMIT = """mutation($input: SubmitAttemptInput!) { submitAttempt(input: $input) {
  __typename
  ... on SubmitAttemptSuccess {
    replayed
    attempt { id taskId tries timeSpentMs solved source occurredAt localDay }
    taskState { status successCount failureCount totalTries totalTimeMs averageTimeMs
                firstAttemptAt lastAttemptAt solvedAt }
    sectionProgress { solvedTasks totalTasks percentComplete attemptsCount totalTimeMs
                      averageTimeMs }
    courseProgress { solvedTasks totalTasks percentComplete attemptsCount totalTimeMs
                     averageTimeMs }
    streak { current longest lastActiveDay }
    newBadges { key }
  }
  ... on SubmitAttemptError { attemptId code message }
} }"""

SUBMIT_MANY = """mutation($inputs: [SubmitAttemptInput!]!) { submitAttempts(inputs: $inputs) {
  __typename
  ... on SubmitAttemptSuccess { replayed attempt { id } taskState { status } }
  ... on SubmitAttemptError { attemptId code }
} }"""


def attempt_input(
    task_id: uuid.UUID,
    *,
    solved: bool = True,
    tries: int = 1,
    time_spent_ms: int = 1000,
    occurred_at: datetime | None = None,
    attempt_id: uuid.UUID | None = None,
    payload: Any = None,
    source: str = "WEB",
) -> dict[str, Any]:
    return {
        "id": str(attempt_id or uuid.uuid4()),
        "taskId": to_global_id("Task", task_id),
        "tries": tries,
        "timeSpentMs": time_spent_ms,
        "solved": solved,
        "occurredAt": (occurred_at or datetime.now(UTC)).isoformat(),
        "source": source,
        "payload": payload,
    }


async def submit(client: GraphQLClient, user: uuid.UUID, **kwargs: Any) -> dict[str, Any]:
    """submitAttempt's payload (or the whole body if it failed as a GraphQL error)."""
    task_id = kwargs.pop("task_id")
    body = await client.execute(SUBMIT, {"input": attempt_input(task_id, **kwargs)}, user=user)
    if "errors" in body:
        return body
    result: dict[str, Any] = body["data"]["submitAttempt"]
    return result


async def drift(engine: AsyncEngine) -> list[str]:
    """Every derived row that differs from a recompute from the attempts."""
    async with Database(engine).rolled_back() as conn:
        users = await recompute.list_users(conn)
        found = await recompute.check_users(conn, user_ids=users)
    return [d.describe() for d in found]
