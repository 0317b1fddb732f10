"""The ASGI application: GraphQL and GraphiQL at /graphql, probes, metrics.

Every request passes, outermost first: request id and access log, CORS (when origins are
configured), the body size limit, then routing. Every answer, a refusal included, is JSON.
"""

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from db import engine as db_engine
from db.engine import Database
from gql import auth, graphiql, health, tracing
from gql.body_limit import BodySizeLimit
from gql.content.tree_cache import TreeCache
from gql.context import Context, utc_now
from gql.cors import cors_middleware
from gql.endpoint import GraphQLEndpoint
from gql.http_errors import http_exception_response
from gql.metrics import Metrics
from gql.request_log import RequestLogging
from gql.schema import build_schema
from gql.settings import Settings


class GraphQLApp:
    """``/graphql``: the schema, and per request a context (identity, loaders, clock)."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        clock: Callable[[], datetime],
        tracer: Any = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.clock = clock
        self.trees: TreeCache[Any] = TreeCache(settings.tree_cache_courses)
        self.endpoint = GraphQLEndpoint(
            build_schema(settings), settings, self.get_context, tracer=tracer
        )

    async def get_context(self, request: Any, response: Any) -> Context:
        try:
            identity = auth.identity_from_header(
                request.headers.get("authorization"), self.settings
            )
        except auth.InvalidToken as exc:
            return Context(
                self.database,
                self.settings,
                None,
                auth_problem=str(exc),
                clock=self.clock,
                trees=self.trees,
            )
        return Context(self.database, self.settings, identity, clock=self.clock, trees=self.trees)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.endpoint(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    clock: Callable[[], datetime] = utc_now,
    span_exporter: SpanExporter | None = None,
) -> Starlette:
    """The application; it owns (and disposes) its database unless one is given. With
    tracing on, spans go to ``span_exporter`` if given, else where ``OTEL_*`` says."""
    settings = settings or Settings()
    owned = database is None
    if database is None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set")
        database = Database(
            db_engine.create_engine(
                settings.database_url,
                pool_size=settings.db_pool_size,
                statement_timeout_ms=settings.statement_timeout_ms,
            )
        )
    provider = tracing.tracer_provider(settings, span_exporter)
    tracer = provider.get_tracer(tracing.TRACER_NAME) if provider is not None else None
    graphql = GraphQLApp(settings, database, clock, tracer)
    metrics = Metrics(database) if settings.metrics else None
    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz(database), methods=["GET"]),
    ]
    if metrics is not None:
        routes.append(Route("/metrics", metrics.endpoint, methods=["GET"]))
    if settings.graphiql_enabled:
        routes.append(graphiql.assets())
    middleware = [
        Middleware(RequestLogging, observer=metrics),
        *cors_middleware(settings),
        Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
    ]
    if tracer is not None:
        middleware.insert(0, Middleware(tracing.TracingMiddleware, tracer=tracer))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        _tune_garbage_collector()
        yield
        tracing.stop(provider)
        if owned:
            await database.dispose()

    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: http_exception_response},
        lifespan=lifespan,
    )
    app.state.tracer_provider = provider
    return app


def _tune_garbage_collector() -> None:
    # Objects alive after start-up (modules, the schema, caches) are frozen out of every
    # collection, so each pass only scans what requests allocate. The thresholds stay at
    # CPython's defaults: raising them (e.g. 50,000 for the youngest generation) saved a
    # little CPU but let a course page's short-lived cycles pile up, and the RSS of a
    # worker grew by ~30 KiB per request (bench/memory_soak.py); with the defaults it
    # stays flat.
    gc.collect()
    gc.freeze()


def app_from_environment() -> Starlette:
    """Factory for uvicorn workers: settings (and DATABASE_URL) from the environment."""
    return create_app(Settings())
