"""Malformed requests: each gets its 4xx and a JSON error body, never a 500, and writes nothing.

Every request here carries a valid bearer token and, where it has a document at all, a
mutation that would create the learner's row: an empty database afterwards shows nothing ran.
"""

import gzip
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db import models
from gql.ids import to_global_id
from tests.graphql_client import GraphQLClient

GRJ = "application/graphql-response+json"
MUTATION = 'mutation { updateViewer(input: {handle: "mallory"}) { __typename } }'
SET_HANDLE = "mutation($h: String) { updateViewer(input: {handle: $h}) { __typename } }"
ATTEMPT = "mutation($i: SubmitAttemptInput!) { submitAttempt(input: $i) { __typename } }"
LIMITS = {"max_body_bytes": 20_000, "max_query_length": 2_000, "max_variables_bytes": 1_000}


def _json(value: Any) -> bytes:
    return orjson.dumps(value)


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _attempt(**overrides: Any) -> dict[str, Any]:
    attempt = {
        "id": str(uuid.uuid4()),
        "taskId": to_global_id("Task", uuid.uuid4()),
        "tries": 1,
        "timeSpentMs": 1000,
        "solved": True,
        "occurredAt": "2026-01-01T00:00:00+00:00",
        "source": "WEB",
    }
    return {**attempt, **overrides}


@dataclass(frozen=True)
class Case:
    status: int
    code: str
    method: str = "POST"
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] | str | None = None


JSON_BODY = {"Content-Type": "application/json"}

CASES = {
    # The body is not a JSON object in UTF-8.
    "truncated JSON": Case(400, "BAD_REQUEST", body=b'{"query":', headers=JSON_BODY),
    "empty body": Case(400, "BAD_REQUEST", body=b"", headers=JSON_BODY),
    "not JSON at all": Case(400, "BAD_REQUEST", body=b"NONSENSE", headers=JSON_BODY),
    "a batch (array)": Case(
        400, "BAD_REQUEST", body=_json([{"query": MUTATION}]), headers=JSON_BODY
    ),
    "a JSON string": Case(400, "BAD_REQUEST", body=_json(MUTATION), headers=JSON_BODY),
    "a JSON number": Case(400, "BAD_REQUEST", body=b"42", headers=JSON_BODY),
    "JSON null": Case(400, "BAD_REQUEST", body=b"null", headers=JSON_BODY),
    "invalid UTF-8": Case(
        400, "BAD_REQUEST", body=b'{"query": "mutation \xff\xfe"}', headers=JSON_BODY
    ),
    "a byte order mark": Case(
        400, "BAD_REQUEST", body=b"\xef\xbb\xbf" + _json({"query": MUTATION}), headers=JSON_BODY
    ),
    "a lone surrogate escape": Case(
        400, "BAD_REQUEST", body=b'{"query": "\\ud800"}', headers=JSON_BODY
    ),
    "NaN": Case(400, "BAD_REQUEST", body=b'{"query": NaN}', headers=JSON_BODY),
    # Nesting and sizes over the limits.
    "variables nested past the depth limit": Case(
        400,
        "BAD_REQUEST",
        body=_json({"query": MUTATION, "variables": {"deep": _nested(40)}}),
        headers=JSON_BODY,
    ),
    "JSON nested 5,000 deep": Case(
        400, "BAD_REQUEST", body=b"[" * 5_000 + b"]" * 5_000, headers=JSON_BODY
    ),
    "a query over the length limit": Case(
        413,
        "PAYLOAD_TOO_LARGE",
        body=_json({"query": MUTATION + " " * 3_000}),
        headers=JSON_BODY,
    ),
    "variables over the size limit": Case(
        413,
        "PAYLOAD_TOO_LARGE",
        body=_json({"query": MUTATION, "variables": {"pad": "x" * 2_000}}),
        headers=JSON_BODY,
    ),
    "a body over the size limit": Case(
        413, "PAYLOAD_TOO_LARGE", body=_json({"query": MUTATION + " " * 30_000}), headers=JSON_BODY
    ),
    # Content codings.
    "garbage gzip": Case(
        400,
        "BAD_REQUEST",
        body=b"\x1f\x8b\x08\x00garbage",
        headers={**JSON_BODY, "Content-Encoding": "gzip"},
    ),
    "truncated gzip": Case(
        400,
        "BAD_REQUEST",
        body=gzip.compress(_json({"query": MUTATION}))[:-12],
        headers={**JSON_BODY, "Content-Encoding": "gzip"},
    ),
    "gzip with trailing junk": Case(
        400,
        "BAD_REQUEST",
        body=gzip.compress(_json({"query": MUTATION})) + b"junk",
        headers={**JSON_BODY, "Content-Encoding": "gzip"},
    ),
    "a gzip bomb": Case(
        413,
        "PAYLOAD_TOO_LARGE",
        body=gzip.compress(b'{"query": "' + b" " * 5_000_000 + b'"}'),
        headers={**JSON_BODY, "Content-Encoding": "gzip"},
    ),
    "deflate that is not deflate": Case(
        400,
        "BAD_REQUEST",
        body=b"plainly not zlib",
        headers={**JSON_BODY, "Content-Encoding": "deflate"},
    ),
    "an unknown content coding": Case(
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        body=zlib.compress(_json({"query": MUTATION})),
        headers={**JSON_BODY, "Content-Encoding": "br"},
    ),
    # Content types.
    "no Content-Type": Case(415, "UNSUPPORTED_MEDIA_TYPE", body=_json({"query": MUTATION})),
    "text/plain": Case(
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        body=_json({"query": MUTATION}),
        headers={"Content-Type": "text/plain"},
    ),
    "a form post": Case(
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        body=b"query=mutation",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    "multipart": Case(
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        body=b"--b\r\n\r\n--b--",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    ),
    "application/graphql": Case(
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        body=MUTATION.encode(),
        headers={"Content-Type": "application/graphql"},
    ),
    "UTF-16": Case(
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        body=_json({"query": MUTATION}).decode().encode("utf-16"),
        headers={"Content-Type": "application/json; charset=utf-16"},
    ),
    # Parameters of the wrong type.
    "no query": Case(400, "BAD_REQUEST", body=_json({"variables": {}}), headers=JSON_BODY),
    "query null": Case(400, "BAD_REQUEST", body=_json({"query": None}), headers=JSON_BODY),
    "query a number": Case(400, "BAD_REQUEST", body=_json({"query": 7}), headers=JSON_BODY),
    "query an object": Case(400, "BAD_REQUEST", body=_json({"query": {}}), headers=JSON_BODY),
    "variables a list": Case(
        400, "BAD_REQUEST", body=_json({"query": MUTATION, "variables": [7]}), headers=JSON_BODY
    ),
    "variables a string": Case(
        400, "BAD_REQUEST", body=_json({"query": MUTATION, "variables": "{}"}), headers=JSON_BODY
    ),
    "operationName a number": Case(
        400, "BAD_REQUEST", body=_json({"query": MUTATION, "operationName": 1}), headers=JSON_BODY
    ),
    "extensions a string": Case(
        400, "BAD_REQUEST", body=_json({"query": MUTATION, "extensions": "x"}), headers=JSON_BODY
    ),
    # Requests that reach GraphQL but cannot be executed (400 in the new media type).
    "a syntax error": Case(
        400,
        "GRAPHQL_PARSE_FAILED",
        body=_json({"query": "mutation {"}),
        headers={**JSON_BODY, "Accept": GRJ},
    ),
    "an empty query": Case(
        400,
        "GRAPHQL_PARSE_FAILED",
        body=_json({"query": ""}),
        headers={**JSON_BODY, "Accept": GRJ},
    ),
    "an unknown operation name": Case(
        400,
        "BAD_REQUEST",
        body=_json({"query": MUTATION, "operationName": "Nope"}),
        headers={**JSON_BODY, "Accept": GRJ},
    ),
    "a variable of the wrong type": Case(
        400,
        "BAD_USER_INPUT",
        body=_json(
            {
                "query": SET_HANDLE,
                "variables": {"h": {"not": "a string"}},
            }
        ),
        headers={**JSON_BODY, "Accept": GRJ},
    ),
    "an invalid UUID in variables": Case(
        400,
        "BAD_USER_INPUT",
        body=_json({"query": ATTEMPT, "variables": {"i": _attempt(id="not-a-uuid")}}),
        headers={**JSON_BODY, "Accept": GRJ},
    ),
    "an invalid date-time in variables": Case(
        400,
        "BAD_USER_INPUT",
        body=_json({"query": ATTEMPT, "variables": {"i": _attempt(occurredAt="yesterday")}}),
        headers={**JSON_BODY, "Accept": GRJ},
    ),
    "an unknown enum value in variables": Case(
        400,
        "BAD_USER_INPUT",
        body=_json({"query": ATTEMPT, "variables": {"i": _attempt(source="FAX")}}),
        headers={**JSON_BODY, "Accept": GRJ},
    ),
    "a missing required variable": Case(
        400,
        "BAD_USER_INPUT",
        body=_json({"query": ATTEMPT, "variables": {}}),
        headers={**JSON_BODY, "Accept": GRJ},
    ),
    # Headers.
    "Accept names nothing we serve": Case(
        406,
        "NOT_ACCEPTABLE",
        body=_json({"query": MUTATION}),
        headers={**JSON_BODY, "Accept": "text/csv"},
    ),
    # GET.
    "a mutation over GET": Case(
        405, "METHOD_NOT_ALLOWED", method="GET", params={"query": MUTATION}
    ),
    "GET without a query": Case(400, "BAD_REQUEST", method="GET", params={"variables": "{}"}),
    "GET with the query twice": Case(
        400, "BAD_REQUEST", method="GET", params="query=%7B__typename%7D&query=%7B__typename%7D"
    ),
    "GET with invalid UTF-8": Case(400, "BAD_REQUEST", method="GET", params="query=%FF%FE"),
    "GET with variables that are not JSON": Case(
        400, "BAD_REQUEST", method="GET", params={"query": "{ __typename }", "variables": "{"}
    ),
    "GET with many parameters": Case(
        400, "BAD_REQUEST", method="GET", params="&".join(f"p{i}=1" for i in range(100))
    ),
    "GET with a huge query string": Case(
        414, "URI_TOO_LONG", method="GET", params={"query": "{ __typename }" + " " * 30_000}
    ),
    # Methods.
    "PUT": Case(
        405, "METHOD_NOT_ALLOWED", method="PUT", body=_json({"query": MUTATION}), headers=JSON_BODY
    ),
    "DELETE": Case(405, "METHOD_NOT_ALLOWED", method="DELETE"),
    "PATCH": Case(
        405,
        "METHOD_NOT_ALLOWED",
        method="PATCH",
        body=_json({"query": MUTATION}),
        headers=JSON_BODY,
    ),
    "OPTIONS without CORS": Case(405, "METHOD_NOT_ALLOWED", method="OPTIONS"),
}


async def _rows(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            table.name: (
                await conn.execute(text(f"SELECT count(*) FROM {table.name}"))
            ).scalar_one()
            for table in models.Base.metadata.sorted_tables
        }


@pytest.mark.parametrize("name", list(CASES))
async def test_malformed_request_gets_its_4xx_json_error_and_writes_nothing(
    make_client: Any, clean_db: AsyncEngine, name: str
) -> None:
    case = CASES[name]
    client: GraphQLClient = make_client(**LIMITS)
    headers = {"Authorization": f"Bearer {client.token(uuid.uuid4())}", **case.headers}
    before = await _rows(clean_db)

    # A raw query string goes into the URL as it is: httpx would re-encode parameters.
    url = f"/graphql?{case.params}" if isinstance(case.params, str) else "/graphql"
    params = case.params if isinstance(case.params, dict) else None
    response = await client.http.request(
        case.method, url, content=case.body, headers=headers, params=params
    )

    assert response.status_code == case.status, response.text
    body = response.json()
    assert [error["extensions"]["code"] for error in body["errors"]] == [case.code]
    assert "data" not in body
    assert "Traceback" not in response.text
    assert await _rows(clean_db) == before


def test_the_table_covers_at_least_25_requests_and_every_class() -> None:
    statuses = {case.status for case in CASES.values()}

    assert len(CASES) >= 25
    assert statuses == {400, 405, 406, 413, 414, 415}


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($id: ID!) { course(id: $id) { id } }", {"id": "not base64 at all!"}),
        ("query($id: ID!) { course(id: $id) { id } }", {"id": to_global_id("Task", uuid.uuid4())}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": "Q291cnNlOm5vdC1hLXV1aWQ="}),
        (
            "query($after: String) { courses(after: $after) { pageInfo { hasNextPage } } }",
            {"after": "%%%"},
        ),
    ],
)
async def test_invalid_ids_in_variables_are_bad_user_input_not_internal_errors(
    client: GraphQLClient, clean_db: AsyncEngine, query: str, variables: dict[str, Any]
) -> None:
    response = await client.post(query, variables, user=uuid.uuid4())

    # A field error: the request ran, so the spec's answer is 200 with (null) data.
    assert response.status_code == 200
    body = response.json()
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert "errorId" not in str(body)


@pytest.mark.parametrize(
    ("header", "value", "status"),
    [
        ("Accept", ";;;,,", 406),
        ("Accept", "application/json;q=banana", 406),
        ("Content-Type", ";;;", 415),
        ("Content-Type", "application/json; charset", 415),
        ("Content-Encoding", "gzip, gzip", 415),
        ("Content-Encoding", "", 200),
        ("Authorization", b"Bearer \xff\xfe\x80", 200),
        ("Authorization", "Basic dXNlcjpwYXNz", 200),
        ("X-Request-Id", b"\xff" * 300, 200),
    ],
)
async def test_garbage_headers_are_refused_or_ignored_never_a_500(
    client: GraphQLClient, clean_db: AsyncEngine, header: str, value: str | bytes, status: int
) -> None:
    before = await _rows(clean_db)
    response = await client.http.post(
        "/graphql",
        content=_json({"query": MUTATION}),
        headers={"Content-Type": "application/json", header: value},
    )

    assert response.status_code == status, response.text
    body = response.json()
    if status == 200:
        # The mutation ran without a usable identity: UNAUTHENTICATED, nothing written.
        assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
    assert await _rows(clean_db) == before


@pytest.mark.parametrize(
    ("method", "depth"),
    # A GET's URL holds a few thousand levels at most (httpx's own URL limit).
    [("POST", depth) for depth in (33, 254, 255, 1_000, 100_000)]
    + [("GET", depth) for depth in (33, 255, 1_000, 5_000)],
)
async def test_variables_nested_at_any_depth_are_the_same_400(
    make_client: Any, clean_db: AsyncEngine, depth: int, method: str
) -> None:
    # Built as text: a value this deep would exhaust the test's own serialiser.
    variables = '{"deep": ' + "[" * depth + "1" + "]" * depth + "}"
    client: GraphQLClient = make_client()
    headers = {"Authorization": f"Bearer {client.token(uuid.uuid4())}"}
    before = await _rows(clean_db)

    if method == "POST":
        body = '{"query": ' + orjson.dumps(MUTATION).decode() + ', "variables": ' + variables + "}"
        response = await client.http.post(
            "/graphql", content=body, headers={**headers, **JSON_BODY}
        )
    else:
        params = {"query": "{ __typename }", "variables": variables}
        response = await client.http.get("/graphql", params=params, headers=headers)

    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert error["message"] == "the request nests deeper than 32 levels"
    assert await _rows(clean_db) == before


@pytest.mark.parametrize(
    ("occurred_at", "code"),
    [
        ("0001-01-01T00:00:00+01:00", "OCCURRED_TOO_LONG_AGO"),
        ("9999-12-31T23:00:00-02:00", "OCCURRED_IN_FUTURE"),
    ],
)
async def test_an_occurred_at_at_the_calendars_edge_is_a_typed_refusal(
    client: GraphQLClient, clean_db: AsyncEngine, occurred_at: str, code: str
) -> None:
    # In UTC these fall outside the years datetime can hold.
    before = await _rows(clean_db)
    query = ATTEMPT.replace("{ __typename }", "{ ... on SubmitAttemptError { code } }")

    body = await client.execute(query, {"i": _attempt(occurredAt=occurred_at)}, user=uuid.uuid4())

    assert body["data"]["submitAttempt"] == {"code": code}, body
    assert await _rows(clean_db) == before
