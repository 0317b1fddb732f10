"""Fixtures: one real PostgreSQL per test session, embedded unless DATABASE_URL is set.

With DATABASE_URL set, the suite creates a scratch database on that server (the role needs
CREATEDB) and drops it at the end; the database named in the URL is never touched.
"""

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import admin, embedded, migrate, models
from db import engine as db_engine
from db.engine import Database
from gql.app import create_app
from gql.settings import Settings
from tests.graphql_client import GraphQLClient

DEMO_COURSE = Path(__file__).resolve().parent.parent / "domain" / "demo" / "course.yaml"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The field-coverage check runs last: it reads what every other test exercised."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/test_field_coverage.py"))


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A URL to some database on the PostgreSQL server the suite uses."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield external
        return
    with tempfile.TemporaryDirectory(prefix="learntrack-test-") as tmp:
        server = embedded.start(Path(tmp) / "pgdata", delete_on_stop=True)
        try:
            yield server.get_uri("postgres", "asyncpg")
        finally:
            server.cleanup()


@pytest.fixture(scope="session")
def scratch_databases(server_url: str) -> Iterator[list[str]]:
    """Names of databases made during the session, dropped at its end."""
    names: list[str] = []
    yield names
    for name in names:
        asyncio.run(admin.drop_database(server_url, name))


@pytest.fixture(scope="session")
def make_database(server_url: str, scratch_databases: list[str]):  # type: ignore[no-untyped-def]
    """Make an empty database; returns its URL."""

    def make() -> str:
        name = f"learntrack_test_{uuid.uuid4().hex[:12]}"
        scratch_databases.append(name)
        return asyncio.run(admin.create_database(server_url, name))

    return make


@pytest.fixture(scope="session")
def database_url(make_database) -> str:  # type: ignore[no-untyped-def]
    """The session's database, migrated to head."""
    url: str = make_database()
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = db_engine.create_engine(database_url, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
async def clean_db(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The shared engine; every table is emptied after the test (for committed work)."""
    yield engine
    tables = ", ".join(t.name for t in models.Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} CASCADE"))


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_statements(engine: AsyncEngine) -> Iterator[StatementCounter]:
    """Counts every SQL statement the engine sends while the test runs."""
    counter = StatementCounter()
    event.listen(engine.sync_engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine.sync_engine, "before_cursor_execute", counter)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, env="development")


@pytest.fixture
async def make_client(
    clean_db: AsyncEngine, settings: Settings
) -> AsyncIterator[Callable[..., GraphQLClient]]:
    """Make GraphQL clients over the ASGI app with settings overridden by keyword."""
    opened: list[httpx.AsyncClient] = []

    def make(clock: Callable[[], datetime] | None = None, **overrides: Any) -> GraphQLClient:
        custom = settings.model_copy(update=overrides)
        app = create_app(custom, Database(clean_db), clock or (lambda: datetime.now(UTC)))
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        opened.append(http)
        return GraphQLClient(http, custom)

    yield make
    for http in opened:
        await http.aclose()


@pytest.fixture
def client(make_client: Callable[..., GraphQLClient]) -> GraphQLClient:
    """A GraphQL client over the ASGI app; tables are emptied after the test."""
    return make_client()
