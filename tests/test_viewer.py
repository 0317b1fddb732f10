"""The viewer and updateViewer: typed errors that change nothing; no mutations over GET."""

import logging
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.graphql_client import GraphQLClient, error_codes

UPDATE = """mutation($input: UpdateViewerInput!) { updateViewer(input: $input) {
  __typename
  ... on UpdateViewerSuccess { viewer { userId timezone handle } }
  ... on UpdateViewerError { code message }
} }"""


async def _timezone(engine: AsyncEngine, user: uuid.UUID) -> str | None:
    async with engine.connect() as conn:
        return (
            await conn.execute(text("SELECT timezone FROM users WHERE id = :id"), {"id": user})
        ).scalar()


async def test_update_viewer_sets_timezone_and_handle(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    user = uuid.uuid4()

    body = await client.execute(
        UPDATE, {"input": {"timezone": "Pacific/Kiritimati", "handle": " ada "}}, user=user
    )

    assert body["data"]["updateViewer"] == {
        "__typename": "UpdateViewerSuccess",
        "viewer": {"userId": str(user), "timezone": "Pacific/Kiritimati", "handle": "ada"},
    }
    assert await _timezone(clean_db, user) == "Pacific/Kiritimati"


async def test_invalid_timezone_is_a_typed_error_and_changes_nothing(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    user = uuid.uuid4()
    await client.execute(UPDATE, {"input": {"timezone": "Europe/Berlin"}}, user=user)

    for bad in ("Mars/Olympus", "", "../../etc/passwd", "Europe/Berlin "):
        body = await client.execute(
            UPDATE, {"input": {"timezone": bad, "handle": "new"}}, user=user
        )
        assert body["data"]["updateViewer"]["code"] == "INVALID_TIMEZONE", bad

    assert await _timezone(clean_db, user) == "Europe/Berlin"


@pytest.mark.parametrize(
    "bad",
    [
        "Europe/" + "x" * 24_000,  # past the file system's name length
        "Europe/Berlin\x00.evil",
        "/etc/passwd-probe",
        "Europe/../Europe/Berlin",
        "Europe/Berlin/",
        "europe/berlin-lower",
        "Zürich/Ünïcödé-☃",
        "\ud7ff-\U0001f600-zone",
        "   spaced-zone   ",
    ],
)
async def test_any_string_is_invalid_timezone_and_never_logged_or_echoed(
    client: GraphQLClient,
    clean_db: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
    bad: str,
) -> None:
    user = uuid.uuid4()
    await client.execute(UPDATE, {"input": {"timezone": "Europe/Berlin"}}, user=user)

    with caplog.at_level(logging.DEBUG):
        for query, variables in (
            (UPDATE, {"input": {"timezone": bad}}),
            (
                "mutation($tz: String!) { updateViewer(input: {timezone: $tz}) {"
                " ... on UpdateViewerError { code message } } }",
                {"tz": bad},
            ),
        ):
            body = await client.execute(query, variables, user=user)

            assert "errors" not in body, body
            assert body["data"]["updateViewer"]["code"] == "INVALID_TIMEZONE"
            assert bad.strip() not in body["data"]["updateViewer"]["message"]

    assert caplog.records, "the test saw no log record at all"
    for record in caplog.records:
        assert bad.strip() not in record.getMessage(), record.name
        assert bad.strip() not in (record.exc_text or ""), record.name
    assert bad.strip() not in caplog.text
    assert await _timezone(clean_db, user) == "Europe/Berlin"


async def test_invalid_handle_is_a_typed_error(client: GraphQLClient) -> None:
    body = await client.execute(UPDATE, {"input": {"handle": "x" * 41}}, user=uuid.uuid4())

    assert body["data"]["updateViewer"]["code"] == "INVALID_HANDLE"


async def test_update_viewer_needs_a_token(client: GraphQLClient) -> None:
    body = await client.execute(UPDATE, {"input": {"timezone": "UTC"}})

    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_mutation_over_get_is_refused_and_changes_nothing(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    user = uuid.uuid4()
    query = 'mutation { updateViewer(input: {timezone: "Asia/Tokyo"}) { __typename } }'

    response = await client.http.get(
        "/graphql",
        params={"query": query},
        headers={"Authorization": f"Bearer {client.token(user)}", "Accept": "application/json"},
    )

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert await _timezone(clean_db, user) is None


async def test_query_over_get_is_allowed(client: GraphQLClient) -> None:
    response = await client.http.get(
        "/graphql", params={"query": "{ __typename }"}, headers={"Accept": "application/json"}
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}
