"""Request ids, JSON access logs without secrets, Prometheus metrics, liveness and readiness."""

import io
import json
import logging
import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db import admin, health
from db import engine as db_engine
from db.engine import Database
from gql import loaders
from gql.app import create_app
from gql.ids import to_global_id
from gql.log_format import JsonFormatter, RequestIdFilter
from gql.metrics import MAX_OPERATION_NAMES, Metrics
from gql.settings import Settings
from tests.graphql_client import GraphQLClient

GENERATED_ID = re.compile(r"[0-9a-f]{32}")
PAGE = (
    "query Page($after: String) { courses(first: 1, after: $after) { pageInfo { hasNextPage } } }"
)


async def test_every_response_carries_a_request_id(make_client: Any) -> None:
    client: GraphQLClient = make_client(max_body_bytes=100)

    responses = [
        await client.http.get("/healthz"),
        await client.http.post("/graphql", json={"query": "{ __typename }"}),
        await client.http.post("/graphql", json={"query": "{ __typename }", "pad": "x" * 200}),
        await client.http.put("/graphql"),
        await client.http.get("/no/such/path"),
    ]

    assert [r.status_code for r in responses] == [200, 200, 413, 405, 404]
    ids = [r.headers["x-request-id"] for r in responses]
    assert all(GENERATED_ID.fullmatch(i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert all(r.headers["x-content-type-options"] == "nosniff" for r in responses)
    assert all(r.json() for r in responses)


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("edge-7f3a.proxy:42", True),
        ("0123456789abcdef0123456789abcdef", True),
        ("has spaces", False),
        ('"},{"forged":"log line', False),
        ("x" * 129, False),
        ("", False),
    ],
)
async def test_a_sane_incoming_request_id_is_kept_and_anything_else_replaced(
    client: GraphQLClient, incoming: str, kept: bool
) -> None:
    response = await client.http.get("/healthz", headers={"X-Request-Id": incoming})

    returned = response.headers["x-request-id"]
    assert (returned == incoming) is kept
    if not kept:
        assert GENERATED_ID.fullmatch(returned)


def _access(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.fields for r in caplog.records if r.name == "learntrack.access"]  # type: ignore[attr-defined]


async def test_access_log_has_operation_user_status_and_codes_but_never_token_or_variables(
    client: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    user = uuid.uuid4()
    token = client.token(user)
    secret = f"s3cret-{uuid.uuid4().hex}"
    auth = {"Authorization": f"Bearer {token}"}

    with caplog.at_level(logging.INFO):
        posted = await client.http.post(
            "/graphql", json={"query": PAGE, "variables": {"after": secret}}, headers=auth
        )
        got = await client.http.get(
            "/graphql",
            params={"query": PAGE, "variables": json.dumps({"after": secret})},
            headers=auth,
        )
        refused = await client.http.post("/graphql", json={"query": "{ nope }"}, headers=auth)

    first, second, third = _access(caplog)
    assert first["request_id"] == posted.headers["x-request-id"]
    assert (first["method"], first["path"], first["status"]) == ("POST", "/graphql", 200)
    assert (first["operation_name"], first["operation_type"]) == ("Page", "query")
    assert first["user_id"] == str(user)
    assert first["error_codes"] == ["BAD_USER_INPUT"]
    assert first["duration_ms"] > 0
    assert (second["method"], second["path"], second["request_id"]) == (
        "GET",
        "/graphql",
        got.headers["x-request-id"],
    )
    assert third["error_codes"] == ["GRAPHQL_VALIDATION_FAILED"]
    assert refused.status_code == 200
    # The test's own HTTP client logs its URLs; every other line is the server's.
    server = [record for record in caplog.records if not record.name.startswith("httpx")]
    formatted = "\n".join(JsonFormatter().format(record) for record in server)
    for leak in (token, secret, token.split(".")[2]):
        assert leak not in formatted
        assert not any(leak in record.getMessage() for record in server)


async def test_log_lines_are_json_carrying_the_id_of_their_request(
    client: GraphQLClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(vars(loaders.Loaders)["course_by_id"], "query", broken)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logging.getLogger().addHandler(handler)
    try:
        with caplog.at_level(logging.INFO):
            response = await client.post(
                "query($id: ID!) { course(id: $id) { id } }",
                {"id": to_global_id("Course", uuid.uuid4())},
            )
    finally:
        logging.getLogger().removeHandler(handler)

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    lines = [line for line in lines if not line["logger"].startswith("httpx")]
    request_id = response.headers["x-request-id"]
    assert {line["request_id"] for line in lines} == {request_id}
    [masked] = [line for line in lines if line["logger"] == "gql.errors"]
    assert masked["level"] == "ERROR" and "the disk is on fire" in masked["exception"]
    access = next(line for line in lines if line["logger"] == "learntrack.access")
    assert access["error_codes"] == ["INTERNAL_SERVER_ERROR"]
    assert response.json()["errors"][0]["extensions"]["errorId"] in masked["message"]


async def test_an_exception_outside_graphql_is_a_json_500_with_the_request_id(
    client: GraphQLClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("readiness exploded")

    monkeypatch.setattr(health, "check_readiness", broken)

    with caplog.at_level(logging.ERROR):
        response = await client.http.get("/readyz")

    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "errorId": response.headers["x-request-id"],
    }
    assert "readiness exploded" not in response.text
    assert "readiness exploded" in caplog.text


async def test_metrics_count_requests_latency_error_codes_and_pool_use(
    client: GraphQLClient,
) -> None:
    await client.execute(PAGE)
    await client.execute(PAGE)
    await client.execute("{ nope }")

    response = await client.http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'learntrack_graphql_requests_total{operation="Page",status="200"} 2.0' in text
    assert 'learntrack_graphql_request_duration_seconds_count{operation="Page"} 2.0' in text
    assert 'learntrack_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED"} 1.0' in text
    assert 'learntrack_http_requests_total{method="POST",route="/graphql",status="200"} 3.0' in text
    assert "learntrack_db_pool_size 5.0" in text
    assert re.search(r'learntrack_db_pool_connections\{state="in_use"\} \d', text)
    assert re.search(r'learntrack_db_pool_connections\{state="idle"\} [1-9]', text)


def test_operation_names_cannot_grow_the_metric_series_without_bound(
    clean_db: AsyncEngine,
) -> None:
    metrics = Metrics(Database(clean_db))

    labels = {metrics._operation_label(f"Op{i}") for i in range(MAX_OPERATION_NAMES * 2)}

    assert len(labels) == MAX_OPERATION_NAMES + 1
    assert "other" in labels
    assert metrics._operation_label("x" * 100) == "invalid"
    assert metrics._operation_label(None) == "anonymous"


async def test_healthz_answers_while_the_database_is_down_and_readyz_does_not(
    settings: Settings,
) -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    database = Database(db_engine.create_engine("postgresql://nobody@127.0.0.1:9/none"))
    app = create_app(settings, database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        live = await http.get("/healthz")
        ready = await http.get("/readyz")
    await database.dispose()

    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert ready.status_code == 503
    assert ready.json()["status"] == "database unreachable"


async def test_readyz_is_ready_at_the_migration_head_and_503_before_it(
    client: GraphQLClient,
    settings: Settings,
    server_url: str,
    scratch_databases: list[str],
) -> None:
    name = f"learntrack_test_{uuid.uuid4().hex[:12]}"
    scratch_databases.append(name)
    empty = Database(db_engine.create_engine(await admin.create_database(server_url, name)))
    app = create_app(settings, empty)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        unmigrated = await http.get("/readyz")
    await empty.dispose()

    ready = await client.http.get("/readyz")

    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "migrations": {
            "applied": list(health.head_revisions()),
            "head": list(health.head_revisions()),
        },
    }
    assert unmigrated.status_code == 503
    assert unmigrated.json()["status"] == "migrations not at head"
    assert unmigrated.json()["migrations"]["applied"] == []
