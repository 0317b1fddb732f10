"""The two sides of the queue benchmark: reserveTasks over HTTP, and its SQL from asyncpg."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import orjson

from db import queue_queries
from domain import reservations
from gql import auth
from gql.ids import to_global_id
from gql.settings import Settings

RESERVE_MUTATION = """
mutation Reserve($course: ID!, $limit: Int!, $visibility: Int!) {
  reserveTasks(courseId: $course, limit: $limit, visibilitySeconds: $visibility) {
    __typename
    ... on ReserveTasksSuccess { reservations { taskId leaseToken expiresAt reason deliveries } }
    ... on ReserveTasksError { code message }
  }
}
"""


def numbered(statement: str) -> tuple[str, list[str]]:
    """A ``:name`` statement as asyncpg wants it (``$1``...), with the names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return re.sub(r"(?<![:\w]):([a-z_]+)", number, statement), names


class FloorClient:
    """One asyncpg connection sending the statements reserve_tasks sends, in a transaction:
    the scope check, the user row, the reservation (one pass)."""

    def __init__(self, conn: asyncpg.Connection, course_id: uuid.UUID, limit: int, visibility: int):
        self.conn = conn
        self.course_id = course_id
        self.limit = limit
        self.visibility = timedelta(seconds=visibility)
        self.scope, self.scope_names = numbered(queue_queries.SCOPE)
        self.user, self.user_names = numbered(queue_queries.ENSURE_USER)
        self.reserve, self.reserve_names = numbered(queue_queries.RESERVE)

    @classmethod
    async def connect(
        cls, dsn: str, course_id: uuid.UUID, limit: int, visibility: int
    ) -> "FloorClient":
        return cls(await asyncpg.connect(dsn), course_id, limit, visibility)

    async def fetch(self, user_id: uuid.UUID) -> int:
        now = datetime.now(UTC)
        values = {
            "c": self.course_id,
            "s": None,
            "th": None,
            "u": user_id,
            "user_id": user_id,
            "course_id": self.course_id,
            "section_id": None,
            "theme_id": None,
            "include_expired": False,
            "limit": self.limit,
            "now": now,
            "until": now + self.visibility,
        }
        reserved = 0
        async with self.conn.transaction():
            await self.conn.fetchrow(self.scope, *(values[n] for n in self.scope_names))
            await self.conn.execute(self.user, *(values[n] for n in self.user_names))
            # As reserve_tasks does: another pass (a fresh snapshot) only after a lost race.
            for _ in range(reservations.MAX_PASSES):
                values["limit"] = self.limit - reserved
                rows = await self.conn.fetch(self.reserve, *(values[n] for n in self.reserve_names))
                got = sum(1 for row in rows if row["id"] is not None)
                reserved += got
                if reserved >= self.limit or (rows[0]["picked"] if rows else 0) == got:
                    break
        return reserved

    async def close(self) -> None:
        await self.conn.close()


class HttpClient:
    """One keep-alive connection posting reserveTasks with a learner's bearer token."""

    def __init__(
        self, base_url: str, settings: Settings, course_id: uuid.UUID, limit: int, visibility: int
    ) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            timeout=60.0,
        )
        self.settings = settings
        self.headers: dict[uuid.UUID, dict[str, str]] = {}
        self.body = orjson.dumps(
            {
                "query": RESERVE_MUTATION,
                "variables": {
                    "course": to_global_id("Course", course_id),
                    "limit": limit,
                    "visibility": visibility,
                },
            }
        )

    def prepare(self, users: list[uuid.UUID]) -> None:
        """Mint the tokens before any clock starts."""
        for user_id in users:
            token = auth.mint_token(self.settings, user_id=user_id)
            self.headers[user_id] = {
                "authorization": f"Bearer {token}",
                "content-type": "application/json",
            }

    async def fetch(self, user_id: uuid.UUID) -> int:
        headers = self.headers[user_id]
        response = await self.http.post("/graphql", content=self.body, headers=headers)
        body = orjson.loads(response.content)
        payload = (body.get("data") or {}).get("reserveTasks")
        if response.status_code != 200 or not payload or "reservations" not in payload:
            raise RuntimeError(f"reserveTasks answered {response.status_code}: {body}")
        return len(payload["reservations"])

    async def close(self) -> None:
        await self.http.aclose()
