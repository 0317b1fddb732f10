"""The two measured sides of the attempt benchmark: the domain layer and the HTTP API.

Each client is one learner submitting new attempts, one at a time; ``submit`` raises
unless the attempt was recorded (not replayed, not rejected).
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

import attempt_dataset
import raw_http
from db.engine import Database
from domain import attempts

# Copied from tests/attempt_helpers.py: submitAttempt with every field of the success payload.
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


class DomainClient:
    """One learner calling ``record_attempt`` in its own transaction, as the mutation does."""

    def __init__(
        self,
        engine: AsyncEngine,
        user_id: uuid.UUID,
        tasks: Sequence[attempt_dataset.Placement],
        policy: attempts.AttemptPolicy,
        solved_share: float = attempt_dataset.SOLVED_SHARE,
    ) -> None:
        self.engine = engine  # shared by all clients, configured like the server's
        self.database = Database(engine)
        self.user_id = user_id
        self.tasks = tasks
        self.policy = policy
        self.solved_share = solved_share

    async def submit(self) -> None:
        drawn = attempt_dataset.draw(self.tasks, self.solved_share)
        now = datetime.now(UTC)
        attempt = attempts.AttemptInput(
            id=drawn.id,
            task_id=drawn.task.task_id,
            tries=drawn.tries,
            time_spent_ms=drawn.time_spent_ms,
            solved=drawn.solved,
            occurred_at=now,
            source="web",
        )
        # The mutation's own transaction (a pooled asyncpg connection, no SQLAlchemy
        # Connection around it).
        async with self.database.write_transaction() as conn:
            outcome = await attempts.record_attempt(
                conn, user_id=self.user_id, attempt=attempt, now=now, policy=self.policy
            )
        if outcome.replayed:
            raise RuntimeError(f"attempt {drawn.id} was replayed, not recorded")

    async def close(self) -> None:
        pass  # the engine outlives the run


class HttpClient:
    """One learner on one keep-alive HTTP connection, posting ``SUBMIT`` with its token.

    Through ``raw_http``: httpx spent 0.7–1.0 ms of the benchmark's CPU per attempt, on the
    two cores the server uses, so the runs measured the client as much as the server.
    """

    def __init__(
        self,
        connection: raw_http.Connection,
        headers: dict[str, str],
        tasks: Sequence[attempt_dataset.Placement],
        global_ids: dict[uuid.UUID, str],
        solved_share: float = attempt_dataset.SOLVED_SHARE,
    ) -> None:
        # A single connection per client, as one browser tab or phone would hold.
        self.connection = connection
        self.headers = headers
        self.tasks = tasks
        self.global_ids = global_ids
        self.solved_share = solved_share

    @classmethod
    async def open(
        cls,
        base_url: str,
        headers: dict[str, str],
        tasks: Sequence[attempt_dataset.Placement],
        global_ids: dict[uuid.UUID, str],
        solved_share: float = attempt_dataset.SOLVED_SHARE,
    ) -> "HttpClient":
        connection = await raw_http.Connection.open(base_url)
        return cls(connection, headers, tasks, global_ids, solved_share)

    async def submit(self) -> None:
        drawn = attempt_dataset.draw(self.tasks, self.solved_share)
        # Shaped like tests/attempt_helpers.attempt_input(); occurredAt is now.
        body = orjson.dumps(
            {
                "query": SUBMIT,
                "variables": {
                    "input": {
                        "id": str(drawn.id),
                        "taskId": self.global_ids[drawn.task.task_id],
                        "tries": drawn.tries,
                        "timeSpentMs": drawn.time_spent_ms,
                        "solved": drawn.solved,
                        "occurredAt": datetime.now(UTC).isoformat(),
                        "source": "WEB",
                        "payload": None,
                    }
                },
            }
        )
        answer = await self.connection.send(
            self.connection.post_request("/graphql", body, self.headers)
        )
        # A substring test, not a parse: the client's own work should not slow the server.
        content = answer.body
        recorded = b'"SubmitAttemptSuccess"' in content and b'"errors"' not in content
        if answer.status != 200 or not recorded:
            raise RuntimeError(f"/graphql answered {answer.status}: {content[:500]!r}")
        if b'"replayed":false' not in content.replace(b" ", b""):
            raise RuntimeError(f"attempt {drawn.id} was replayed: {content[:500]!r}")

    async def close(self) -> None:
        await self.connection.close()
