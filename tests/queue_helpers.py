"""A learner driving the task queue through the API, with a server clock the test moves."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gql.ids import to_global_id
from tests.attempt_helpers import attempt_input
from tests.factories import CourseTree
from tests.graphql_client import GraphQLClient

RESERVATION_FIELDS = "taskId leaseToken expiresAt reason deliveries dueAt"

RESERVE = f"""mutation($course: ID!, $limit: Int!, $section: ID, $theme: ID, $same: Boolean!,
                       $visibility: Int!) {{
  reserveTasks(courseId: $course, limit: $limit, sectionId: $section, themeId: $theme,
               sameTheme: $same, visibilitySeconds: $visibility) {{
    __typename
    ... on ReserveTasksSuccess {{ reservations {{ {RESERVATION_FIELDS} }} }}
    ... on ReserveTasksError {{ code message }}
  }}
}}"""

EXTEND = f"""mutation($token: UUID!, $seconds: Int!) {{
  extendReservation(leaseToken: $token, seconds: $seconds) {{
    __typename
    ... on ExtendReservationSuccess {{ reservation {{ {RESERVATION_FIELDS} }} }}
    ... on ExtendReservationError {{ code message }}
  }}
}}"""

RELEASE = """mutation($token: UUID!) {
  releaseReservation(leaseToken: $token) {
    __typename
    ... on ReleaseReservationSuccess { entry { taskId reason dueAt deliveries } }
    ... on ReleaseReservationError { code message }
  }
}"""

SUBMIT = """mutation($input: SubmitAttemptInput!) { submitAttempt(input: $input) {
  __typename
  ... on SubmitAttemptSuccess { replayed reservationError taskState { status failureCount } }
  ... on SubmitAttemptError { code message }
} }"""

PREVIEW = """query($course: ID!, $first: Int!) {
  viewer { queue(courseId: $course, first: $first) { taskId reason dueAt deliveries } }
}"""


@dataclass
class Clock:
    """The server's clock; the test moves ``now``."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def task_gid(task_id: uuid.UUID) -> str:
    return to_global_id("Task", task_id)


@dataclass
class Learner:
    client: GraphQLClient
    clock: Clock
    engine: AsyncEngine
    tree: CourseTree
    user: uuid.UUID

    async def reserve(
        self,
        limit: int = 10,
        *,
        section: uuid.UUID | None = None,
        theme: uuid.UUID | None = None,
        same_theme: bool = False,
        visibility: int = 900,
        course: str | None = None,
    ) -> dict[str, Any]:
        """reserveTasks' payload."""
        body = await self.client.execute(
            RESERVE,
            {
                "course": course or to_global_id("Course", self.tree.course_id),
                "limit": limit,
                "section": to_global_id("Section", section) if section else None,
                "theme": to_global_id("Theme", theme) if theme else None,
                "same": same_theme,
                "visibility": visibility,
            },
            user=self.user,
        )
        assert "errors" not in body, body
        payload: dict[str, Any] = body["data"]["reserveTasks"]
        return payload

    async def reserved(self, limit: int = 10, **kwargs: Any) -> list[dict[str, Any]]:
        """The reservations of a reserveTasks call that must succeed."""
        payload = await self.reserve(limit, **kwargs)
        assert payload["__typename"] == "ReserveTasksSuccess", payload
        reservations: list[dict[str, Any]] = payload["reservations"]
        return reservations

    async def extend(self, token: str, seconds: int) -> dict[str, Any]:
        body = await self.client.execute(
            EXTEND, {"token": token, "seconds": seconds}, user=self.user
        )
        assert "errors" not in body, body
        payload: dict[str, Any] = body["data"]["extendReservation"]
        return payload

    async def release(self, token: str) -> dict[str, Any]:
        body = await self.client.execute(RELEASE, {"token": token}, user=self.user)
        assert "errors" not in body, body
        payload: dict[str, Any] = body["data"]["releaseReservation"]
        return payload

    async def submit(
        self,
        task_id: uuid.UUID,
        *,
        solved: bool,
        token: str | None = None,
        tries: int = 1,
        attempt_id: uuid.UUID | None = None,
    ) -> dict[str, Any]:
        item = attempt_input(
            task_id, solved=solved, tries=tries, occurred_at=self.clock.now, attempt_id=attempt_id
        )
        body = await self.client.execute(
            SUBMIT, {"input": {**item, "leaseToken": token}}, user=self.user
        )
        assert "errors" not in body, body
        payload: dict[str, Any] = body["data"]["submitAttempt"]
        assert payload["__typename"] == "SubmitAttemptSuccess", payload
        return payload

    async def preview(self, first: int = 10, course: str | None = None) -> Any:
        body = await self.client.execute(
            PREVIEW,
            {"course": course or to_global_id("Course", self.tree.course_id), "first": first},
            user=self.user,
        )
        assert "errors" not in body, body
        return body["data"]["viewer"]["queue"]

    async def entries(self, task_id: uuid.UUID) -> list[dict[str, Any]]:
        """The task's queue rows for this learner, oldest first."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT state, reason, due_at, deliveries, lease_token FROM user_task_queue"
                    " WHERE user_id = :u AND task_id = :t ORDER BY enqueued_at, state"
                ),
                {"u": self.user, "t": task_id},
            )
            return [dict(row._mapping) for row in rows]

    async def set_policy(self, policy: dict[str, Any] | None) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                text("UPDATE course SET queue_policy = CAST(:p AS jsonb) WHERE id = :c"),
                {
                    "p": None if policy is None else orjson.dumps(policy).decode(),
                    "c": self.tree.course_id,
                },
            )

    async def sql(self, statement: str, **params: Any) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text(statement), params)


def task_ids(reservations: list[dict[str, Any]]) -> list[str]:
    return [r["taskId"] for r in reservations]
