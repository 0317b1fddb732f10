"""Automatic persisted queries (Apollo's APQ): register, hit, miss and mismatch, GET and POST."""

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gql.ids import to_global_id
from tests.factories import make_course
from tests.graphql_client import GraphQLClient, error_codes

COURSE = "query Course($id: ID!) { course(id: $id) { id title totalTasks } }"
TASKS = "query Course($id: ID!) { course(id: $id) { sections { themes { tasks { key } } } } }"
HELLO = "{ __typename }"


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


async def send(
    client: GraphQLClient,
    method: str,
    *,
    query: str | None,
    digest: str,
    variables: dict[str, Any] | None = None,
    version: int = 1,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A request naming ``digest`` in extensions.persistedQuery, with or without its query."""
    if method == "GET" and version == 1:
        return await client.get(query, variables, persisted_hash=digest, headers=headers)
    extensions = {"persistedQuery": {"version": version, "sha256Hash": digest}}
    body: dict[str, Any] = {"extensions": extensions, "variables": variables or {}}
    if query is not None:
        body["query"] = query
    return await client.http.post("/graphql", json=body, headers=headers)


@pytest.fixture
async def course_id(clean_db: AsyncEngine) -> str:
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=2)
    return to_global_id("Course", tree.course_id)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_unknown_hash_is_persisted_query_not_found_with_status_200(
    client: GraphQLClient, method: str
) -> None:
    response = await send(
        client,
        method,
        query=None,
        digest=sha256(HELLO),
        headers={"Accept": "application/graphql-response+json"},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
    assert "data" not in body
    assert "etag" not in response.headers


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_query_sent_with_its_hash_runs_and_later_the_hash_alone_runs_it(
    client: GraphQLClient, course_id: str, method: str
) -> None:
    digest = sha256(COURSE)
    registered = await send(
        client, method, query=COURSE, digest=digest, variables={"id": course_id}
    )

    hit = await send(client, method, query=None, digest=digest, variables={"id": course_id})

    assert registered.status_code == hit.status_code == 200
    assert registered.json() == hit.json()
    assert hit.json()["data"]["course"]["totalTasks"] == 2


async def test_hash_registered_over_post_is_served_over_get(
    client: GraphQLClient, course_id: str
) -> None:
    digest = sha256(COURSE)
    await send(client, "POST", query=COURSE, digest=digest, variables={"id": course_id})

    hit = await send(client, "GET", query=None, digest=digest, variables={"id": course_id})

    assert hit.json()["data"]["course"]["id"] == course_id


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_query_that_does_not_match_its_hash_is_refused_and_not_kept(
    client: GraphQLClient, course_id: str, method: str
) -> None:
    claimed = sha256(TASKS)

    response = await send(client, method, query=COURSE, digest=claimed, variables={"id": course_id})

    assert response.status_code == 400
    assert error_codes(response.json()) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    for digest in (claimed, sha256(COURSE)):
        later = await send(client, method, query=None, digest=digest, variables={"id": course_id})
        assert error_codes(later.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_hash_of_upper_case_digits_names_the_same_query(
    client: GraphQLClient, method: str
) -> None:
    await send(client, method, query=HELLO, digest=sha256(HELLO).upper())

    hit = await send(client, method, query=None, digest=sha256(HELLO))

    assert hit.json()["data"] == {"__typename": "Query"}


async def test_other_versions_and_malformed_hashes_are_bad_requests(client: GraphQLClient) -> None:
    wrong_version = await send(client, "POST", query=HELLO, digest=sha256(HELLO), version=2)
    short_hash = await send(client, "POST", query=HELLO, digest="abc123")

    for response in (wrong_version, short_hash):
        assert response.status_code == 400
        assert error_codes(response.json()) == ["BAD_REQUEST"]


async def test_query_that_fails_validation_is_not_kept(client: GraphQLClient) -> None:
    invalid = "{ noSuchField }"

    first = await send(client, "POST", query=invalid, digest=sha256(invalid))
    later = await send(client, "POST", query=None, digest=sha256(invalid))

    assert error_codes(first.json()) == ["GRAPHQL_VALIDATION_FAILED"]
    assert error_codes(later.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_mutation_by_hash_runs_over_post_and_is_refused_over_get(
    client: GraphQLClient,
) -> None:
    mutation = 'mutation { updateViewer(input: {handle: "ada"}) { __typename } }'
    user = uuid.uuid4()
    token = {"Authorization": f"Bearer {client.token(user)}"}
    digest = sha256(mutation)
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}

    posted = await client.http.post(
        "/graphql", json={"query": mutation, "extensions": extensions}, headers=token
    )
    over_get = await client.get(None, persisted_hash=digest, user=user)

    assert posted.json()["data"]["updateViewer"]["__typename"] == "UpdateViewerSuccess"
    assert over_get.status_code == 405


async def test_cache_keeps_the_most_recently_used_queries_up_to_its_bound(
    make_client: Callable[..., GraphQLClient],
) -> None:
    client = make_client(apq_cache_entries=2)
    first, second, third = "{ a: __typename }", "{ b: __typename }", "{ c: __typename }"
    await send(client, "GET", query=first, digest=sha256(first))
    await send(client, "GET", query=second, digest=sha256(second))
    await send(client, "GET", query=None, digest=sha256(first))  # first is now the most recent

    await send(client, "GET", query=third, digest=sha256(third))

    kept = {
        name: error_codes((await send(client, "GET", query=None, digest=sha256(q))).json())
        for name, q in (("first", first), ("second", second), ("third", third))
    }
    assert kept == {"first": [], "second": ["PERSISTED_QUERY_NOT_FOUND"], "third": []}


async def test_cache_bound_in_characters_evicts_too(
    make_client: Callable[..., GraphQLClient],
) -> None:
    other = "{ x: __typename }"
    client = make_client(apq_cache_chars=len(HELLO) + len(other) - 1)
    await send(client, "GET", query=HELLO, digest=sha256(HELLO))

    await send(client, "GET", query=other, digest=sha256(other))

    evicted = await send(client, "GET", query=None, digest=sha256(HELLO))
    assert error_codes(evicted.json()) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_turned_off_it_answers_persisted_query_not_supported(
    make_client: Callable[..., GraphQLClient],
) -> None:
    client = make_client(apq_cache_entries=0)

    response = await send(client, "GET", query=HELLO, digest=sha256(HELLO))

    assert response.status_code == 200
    assert response.json()["errors"][0]["message"] == "PersistedQueryNotSupported"
    assert error_codes(response.json()) == ["PERSISTED_QUERY_NOT_SUPPORTED"]


async def test_legacy_json_answers_not_found_with_null_data(client: GraphQLClient) -> None:
    response = await client.http.get(
        "/graphql",
        params={
            "extensions": f'{{"persistedQuery":{{"version":1,"sha256Hash":"{sha256(HELLO)}"}}}}'
        },
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 200
    assert response.json()["data"] is None
    assert error_codes(response.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
