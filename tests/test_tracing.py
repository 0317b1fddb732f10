"""OpenTelemetry tracing through the real app and PostgreSQL, with the SDK's in-memory
exporter: one trace per request continuing the caller's ``traceparent``, a span for the
operation with its name, type and cost, a span per SQL statement inside it; nothing at all
when tracing is off."""

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import Database
from gql import tracing
from gql.app import create_app
from gql.ids import to_global_id
from gql.settings import Settings
from tests.attempt_helpers import attempt_input
from tests.examples import example
from tests.factories import make_course
from tests.graphql_client import GraphQLClient

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


@pytest.fixture
def traced(
    clean_db: AsyncEngine, settings: Settings
) -> Iterator[Callable[[bool], tuple[GraphQLClient, InMemorySpanExporter]]]:
    apps = []

    def make(on: bool) -> tuple[GraphQLClient, InMemorySpanExporter]:
        exporter = InMemorySpanExporter()
        custom = settings.model_copy(update={"tracing": on})
        app = create_app(custom, Database(clean_db), lambda: datetime.now(UTC), exporter)
        apps.append(app)
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        return GraphQLClient(http, custom), exporter

    yield make
    for app in apps:
        tracing.stop(app.state.tracer_provider)


async def test_a_request_is_one_trace_from_the_callers_span_down_to_each_statement(
    traced: Callable[[bool], tuple[GraphQLClient, InMemorySpanExporter]], clean_db: AsyncEngine
) -> None:
    client, exporter = traced(True)
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=2, themes=2, tasks=3)
    user = uuid.uuid4()
    exporter.clear()  # the set-up's own statements

    response = await client.http.post(
        "/graphql",
        json={
            "query": example("course_page"),
            "variables": {"id": to_global_id("Course", tree.course_id)},
        },
        headers={"traceparent": TRACEPARENT, "Authorization": f"Bearer {client.token(user)}"},
    )

    assert response.status_code == 200 and "errors" not in response.json()
    spans = exporter.get_finished_spans()
    (server,) = [s for s in spans if s.kind == SpanKind.SERVER]
    (operation,) = [s for s in spans if s.name == "query CoursePage"]
    statements = [s for s in spans if s.kind == SpanKind.CLIENT]
    # one trace, continuing the caller's
    assert {format(s.context.trace_id, "032x") for s in spans} == {TRACE_ID}
    assert server.parent is not None and format(server.parent.span_id, "016x") == PARENT_ID
    assert server.name == "POST /graphql"
    assert server.attributes["http.response.status_code"] == 200
    # the operation inside the request, with its name, type and estimated cost
    assert operation.parent is not None and operation.parent.span_id == server.context.span_id
    assert operation.attributes["graphql.operation.name"] == "CoursePage"
    assert operation.attributes["graphql.operation.type"] == "query"
    assert operation.attributes["learntrack.query_cost"] > 0
    # every statement of the page inside the operation; no parameter values recorded
    assert len(statements) >= 4
    assert all(
        s.parent is not None and s.parent.span_id == operation.context.span_id for s in statements
    )
    assert not any("db.statement.parameters" in (s.attributes or {}) for s in statements)


async def test_an_attempt_traces_its_raw_statements_too(
    traced: Callable[[bool], tuple[GraphQLClient, InMemorySpanExporter]], clean_db: AsyncEngine
) -> None:
    client, exporter = traced(True)
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=1)
    submit = example("submit_attempt")
    exporter.clear()  # the set-up's own statements

    body = await client.execute(
        submit, {"input": attempt_input(tree.task_ids[0])}, user=uuid.uuid4()
    )

    assert body["data"]["submitAttempt"]["__typename"] == "SubmitAttemptSuccess"
    spans = exporter.get_finished_spans()
    (operation,) = [s for s in spans if s.name == "mutation SubmitAttempt"]
    inside = [
        s for s in spans if s.parent is not None and s.parent.span_id == operation.context.span_id
    ]
    texts = " ".join(
        str((s.attributes or {}).get("db.statement") or (s.attributes or {}).get("db.query.text"))
        for s in inside
    )
    assert "INSERT INTO user_task_attempt" in texts  # the hot path's asyncpg statements


async def test_with_tracing_off_nothing_is_recorded(
    traced: Callable[[bool], tuple[GraphQLClient, InMemorySpanExporter]],
) -> None:
    client, exporter = traced(False)

    body = await client.execute("{ courses(first: 1) { nodes { id } } }")

    assert "errors" not in body
    assert exporter.get_finished_spans() == ()


def test_an_unknown_exporter_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin-over-carrier-pigeon")
    with pytest.raises(tracing.ExporterUnknown, match="otlp, console or none"):
        tracing.tracer_provider(Settings(tracing=True))
