"""CORS: off unless origins are configured; then credentials and preflight for those only."""

from typing import Any

import pytest
from pydantic import ValidationError

from gql.settings import Settings
from tests.graphql_client import GraphQLClient

FRONTEND = "https://app.learntrack.example"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


async def test_cors_is_off_by_default(client: GraphQLClient) -> None:
    preflight = await client.http.options("/graphql", headers={"Origin": FRONTEND, **PREFLIGHT})
    simple = await client.http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": FRONTEND}
    )

    assert preflight.status_code == 405
    assert preflight.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in simple.headers


async def test_a_configured_origin_gets_preflight_and_credentials(make_client: Any) -> None:
    client: GraphQLClient = make_client(cors_origins=[FRONTEND])

    preflight = await client.http.options("/graphql", headers={"Origin": FRONTEND, **PREFLIGHT})
    actual = await client.http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": FRONTEND}
    )

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == FRONTEND
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert actual.status_code == 200
    assert actual.headers["access-control-allow-origin"] == FRONTEND
    assert actual.headers["access-control-allow-credentials"] == "true"
    assert "x-request-id" in actual.headers["access-control-expose-headers"].lower()
    assert "Origin" in actual.headers["vary"]


async def test_another_origin_is_refused_in_json(make_client: Any) -> None:
    client: GraphQLClient = make_client(cors_origins=[FRONTEND])

    preflight = await client.http.options(
        "/graphql", headers={"Origin": "https://evil.example", **PREFLIGHT}
    )
    simple = await client.http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": "https://evil.example"}
    )

    assert preflight.status_code == 400
    assert preflight.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in simple.headers


def test_origins_come_comma_separated_and_a_wildcard_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEARNTRACK_CORS_ORIGINS", f"{FRONTEND}, http://localhost:5173")
    assert Settings().cors_origins == [FRONTEND, "http://localhost:5173"]

    monkeypatch.setenv("LEARNTRACK_CORS_ORIGINS", "*")
    with pytest.raises(ValidationError, match="refused"):
        Settings()
