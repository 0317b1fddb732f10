"""A small GraphQL-over-HTTP client for the tests."""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from gql import auth
from gql.settings import Settings


@dataclass
class GraphQLClient:
    http: httpx.AsyncClient
    settings: Settings

    def token(self, user_id: uuid.UUID, *, admin: bool = False) -> str:
        return auth.mint_token(self.settings, user_id=user_id, admin=admin)

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        user: uuid.UUID | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        headers = {}
        if user is not None:
            token = self.token(user)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        user: uuid.UUID | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """The response body as JSON: ``data`` and maybe ``errors``."""
        response = await self.post(query, variables, user=user, token=token)
        body: dict[str, Any] = response.json()
        return body


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
