"""The measured side: the course page asked of the real server over HTTP."""

import uuid

import httpx
import orjson

from gql import auth
from gql.ids import to_global_id
from gql.settings import Settings

# Copied from tests/test_course_tree.py: the nested course page with every progress field.
TREE_QUERY = """
query Tree($id: ID!) {
  course(id: $id) {
    id title totalTasks
    progress { solvedTasks totalTasks percentComplete }
    sections {
      id title totalTasks
      progress { solvedTasks totalTasks percentComplete averageTimeMs }
      themes {
        id title
        progress { solvedTasks totalTasks }
        tasks { id key type state { status successCount totalTries solvedAt } }
      }
    }
  }
}
"""


def learner_headers(settings: Settings, users: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, str]]:
    """Request headers with a bearer token per user, minted before any clock starts."""
    return {
        user_id: {
            "authorization": f"Bearer {auth.mint_token(settings, user_id=user_id)}",
            "content-type": "application/json",
        }
        for user_id in users
    }


class GraphQLClient:
    """One keep-alive HTTP connection posting the page query with a learner's token."""

    def __init__(
        self, base_url: str, course_id: uuid.UUID, headers: dict[uuid.UUID, dict[str, str]]
    ) -> None:
        # A single connection per client, as one browser tab would hold.
        self.http = httpx.AsyncClient(
            base_url=base_url,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            timeout=60.0,
        )
        self.headers = headers
        # Encoded once: the client's own JSON work should not count against the server.
        self.body = orjson.dumps(
            {"query": TREE_QUERY, "variables": {"id": to_global_id("Course", course_id)}}
        )

    async def fetch(self, user_id: uuid.UUID) -> bytes:
        response = await self.http.post(
            "/graphql", content=self.body, headers=self.headers[user_id]
        )
        if response.status_code != 200:
            raise RuntimeError(f"/graphql answered {response.status_code}: {response.text[:500]}")
        return response.content

    async def close(self) -> None:
        await self.http.aclose()
