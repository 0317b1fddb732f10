"""A small GraphQL-over-HTTP client for the tests."""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from gql import auth
from gql.settings import Settings
from tests import field_coverage


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

    async def get(
        self,
        query: str | None,
        variables: dict[str, Any] | None = None,
        *,
        user: uuid.UUID | None = None,
        persisted_hash: str | None = None,
        if_none_match: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A GET; ``persisted_hash`` adds Apollo's persistedQuery extension (APQ)."""
        params = {}
        if query is not None:
            params["query"] = query
        if variables:
            params["variables"] = orjson.dumps(variables).decode()
        if persisted_hash is not None:
            params["extensions"] = orjson.dumps(
                {"persistedQuery": {"version": 1, "sha256Hash": persisted_hash}}
            ).decode()
        sent = dict(headers or {})
        if user is not None:
            sent["Authorization"] = f"Bearer {self.token(user)}"
        if if_none_match is not None:
            sent["If-None-Match"] = if_none_match
        return await self.http.get("/graphql", params=params, headers=sent)

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
        field_coverage.record(query, body)
        return body


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
