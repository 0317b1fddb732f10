"""GraphQL over HTTP: status codes and media types for both response media types.

With application/graphql-response+json a request that cannot be executed is a 4xx without
`data`; with legacy application/json every well-formed request is a 200 (spec §Status Codes).
"""

import uuid
from typing import Any

import httpx
import pytest

from gql.ids import to_global_id
from tests.graphql_client import GraphQLClient

GRJ = "application/graphql-response+json"
JSON = "application/json"

PARSE_ERROR = "{"
VALIDATION_ERROR = "{ courses { nope } }"
TWO_OPERATIONS = "query A { __typename } query B { __typename }"
WRONG_VARIABLE = "query($n: Int!) { courses(first: $n) { pageInfo { hasNextPage } } }"
BAD_PAGE = "{ courses(first: 0) { edges { cursor } } }"
MISSING_COURSE = "query($id: ID!) { course(id: $id) { id } }"


async def _post(
    client: GraphQLClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    accept: str | None,
    operation_name: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"query": query, "variables": variables}
    if operation_name is not None:
        body["operationName"] = operation_name
    request = client.http.build_request("POST", "/graphql", json=body)
    if accept is None:
        del request.headers["accept"]
    else:
        request.headers["accept"] = accept
    return await client.http.send(request)


def _media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0]


# (case, query, variables, status with graphql-response+json, status with application/json)
REQUEST_ERRORS = [
    ("document parsing failure", PARSE_ERROR, None, 400, 200),
    ("document validation failure", VALIDATION_ERROR, None, 400, 200),
    ("operation cannot be determined", TWO_OPERATIONS, None, 400, 200),
    ("variable coercion failure", WRONG_VARIABLE, {"n": "five"}, 400, 200),
    ("a subscription (not served over HTTP)", "subscription S { __typename }", None, 400, 200),
    ("only a fragment, no operation", "fragment F on Query { __typename }", None, 400, 200),
]


@pytest.mark.parametrize(
    ("case", "query", "variables", "grj_status", "json_status"),
    REQUEST_ERRORS,
    ids=[case[0] for case in REQUEST_ERRORS],
)
async def test_request_errors_are_400_without_data_in_the_new_media_type_and_200_in_legacy(
    client: GraphQLClient,
    case: str,
    query: str,
    variables: dict[str, Any] | None,
    grj_status: int,
    json_status: int,
) -> None:
    modern = await _post(client, query, variables, accept=GRJ)
    legacy = await _post(client, query, variables, accept=JSON)

    assert (modern.status_code, _media_type(modern)) == (grj_status, GRJ)
    assert "data" not in modern.json()
    assert modern.json()["errors"]
    assert (legacy.status_code, _media_type(legacy)) == (json_status, JSON)
    assert legacy.json()["data"] is None
    assert legacy.json()["errors"] == modern.json()["errors"]


async def test_field_errors_are_200_with_data_in_both_media_types(client: GraphQLClient) -> None:
    for accept in (GRJ, JSON):
        # courses is non-null: BAD_USER_INPUT nulls the whole data, still a partial response.
        bad_page = await _post(client, BAD_PAGE, accept=accept)
        missing = await _post(
            client, MISSING_COURSE, {"id": to_global_id("Course", uuid.uuid4())}, accept=accept
        )

        assert bad_page.status_code == 200
        assert "data" in bad_page.json() and bad_page.json()["data"] is None
        assert bad_page.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert missing.status_code == 200
        assert missing.json() == {"data": {"course": None}}


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (GRJ, GRJ),
        (JSON, JSON),
        (f"{GRJ}; charset=utf-8, {JSON}; charset=utf-8", GRJ),
        (f"{JSON}, {GRJ}", JSON),
        (f"{JSON};q=0.5, {GRJ}", GRJ),
        ("*/*", JSON),
        ("application/*", JSON),
        (f"{JSON};q=0, */*", GRJ),
        ("text/html, */*;q=0.8", JSON),
        (None, GRJ),
    ],
)
async def test_accept_header_picks_the_response_media_type(
    client: GraphQLClient, accept: str | None, expected: str
) -> None:
    response = await _post(client, "{ __typename }", accept=accept)

    assert response.status_code == 200
    assert response.headers["content-type"] == f"{expected}; charset=utf-8"
    assert response.json() == {"data": {"__typename": "Query"}}
    assert response.headers["vary"] == "Accept"


@pytest.mark.parametrize("accept", ["text/plain", "application/xml", f"{JSON}; charset=latin-1"])
async def test_accept_matching_nothing_we_serve_is_406(client: GraphQLClient, accept: str) -> None:
    response = await _post(client, "{ __typename }", accept=accept)

    assert response.status_code == 406
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


@pytest.mark.parametrize("accept", [GRJ, JSON])
async def test_queries_run_over_get(client: GraphQLClient, accept: str) -> None:
    response = await client.http.get(
        "/graphql",
        params={
            "query": "query Page($n: Int!) { courses(first: $n) { pageInfo { hasNextPage } } }",
            "variables": '{"n": 1}',
            "operationName": "Page",
        },
        headers={"Accept": accept},
    )

    assert response.status_code == 200
    assert _media_type(response) == accept
    assert response.json() == {"data": {"courses": {"pageInfo": {"hasNextPage": False}}}}


@pytest.mark.parametrize("accept", [GRJ, JSON])
async def test_mutations_over_get_are_405_with_allow_post_and_not_run(
    client: GraphQLClient, accept: str
) -> None:
    response = await client.http.get(
        "/graphql",
        params={"query": 'mutation { updateViewer(input: {handle: "x"}) { __typename } }'},
        headers={"Accept": accept, "Authorization": f"Bearer {client.token(uuid.uuid4())}"},
    )

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert _media_type(response) == accept
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_other_methods_are_405_with_allow(client: GraphQLClient) -> None:
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
        response = await client.http.request(method, "/graphql")

        assert response.status_code == 405, method
        assert set(response.headers["allow"].split(", ")) >= {"GET", "POST"}
        assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("accept", [GRJ, JSON])
async def test_refusals_keep_the_negotiated_media_type(make_client: Any, accept: str) -> None:
    client = make_client(max_body_bytes=200)
    wrong_type = await client.http.post(
        "/graphql",
        content=b"{ __typename }",
        headers={"Content-Type": "text/plain", "Accept": accept},
    )
    too_large = await client.http.post(
        "/graphql",
        json={"query": "{ __typename }", "variables": {"pad": "x" * 500}},
        headers={"Accept": accept},
    )

    assert (wrong_type.status_code, _media_type(wrong_type)) == (415, accept)
    assert wrong_type.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    # The size limit answers before negotiation, in the media type every client reads.
    assert (too_large.status_code, _media_type(too_large)) == (413, JSON)


async def test_responses_are_utf8_and_not_cached(client: GraphQLClient) -> None:
    response = await _post(client, "{ __typename }", accept=GRJ)

    assert response.headers["content-type"].endswith("charset=utf-8")
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("accept", [GRJ, JSON])
async def test_operation_name_picks_one_of_several_operations(
    client: GraphQLClient, accept: str
) -> None:
    document = "query A { a: __typename } query B { b: __typename }"

    picked = await _post(client, document, accept=accept, operation_name="B")
    unnamed = await _post(client, document, accept=accept, operation_name="")

    assert (picked.status_code, picked.json()) == (200, {"data": {"b": "Query"}})
    mutation = await _post(
        client,
        "query A { __typename } mutation M { __typename }",
        accept=accept,
        operation_name="M",
    )
    assert mutation.json() == {"data": {"__typename": "Mutation"}}
    assert unnamed.json()["errors"][0]["message"] == (
        "Must provide operation name if query contains multiple operations."
    )
