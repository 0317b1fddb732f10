"""The ASGI application: GraphQL at /graphql, health at /healthz."""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL

from db import engine as db_engine
from db.engine import Database
from gql import auth
from gql.context import Context, utc_now
from gql.schema import build_schema
from gql.settings import Settings

log = logging.getLogger(__name__)


class GraphQLApp(GraphQL[Context, None]):
    def __init__(
        self, settings: Settings, database: Database, clock: Callable[[], datetime]
    ) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=True,
        )
        self.settings = settings
        self.database = database
        self.clock = clock

    async def get_context(self, request: Any, response: Any) -> Context:
        try:
            identity = auth.identity_from_header(
                request.headers.get("authorization"), self.settings
            )
        except auth.InvalidToken as exc:
            return Context(
                self.database, self.settings, None, auth_problem=str(exc), clock=self.clock
            )
        return Context(self.database, self.settings, identity, clock=self.clock)

    def encode_json(self, data: object) -> bytes:  # type: ignore[override]
        return orjson.dumps(data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope, receive))
        except HTTPException as exc:
            response = _http_error(exc)
        await response(scope, receive, send)


def _http_error(exc: HTTPException) -> Response:
    """Strawberry's HTTP refusals as JSON; a mutation over GET is 405 (GraphQL over HTTP)."""
    if exc.status_code == 400 and "not allowed when using GET" in exc.reason:
        return JSONResponse(
            {"errors": [{"message": exc.reason, "extensions": {"code": "METHOD_NOT_ALLOWED"}}]},
            status_code=405,
            headers={"Allow": "POST"},
        )
    return JSONResponse(
        {"errors": [{"message": exc.reason, "extensions": {"code": "BAD_REQUEST"}}]},
        status_code=exc.status_code,
    )


class BodySizeLimit:
    """Refuses request bodies over ``max_bytes`` with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {
                "errors": [
                    {
                        "message": "request body too large",
                        "extensions": {"code": "PAYLOAD_TOO_LARGE"},
                    }
                ]
            },
            status_code=413,
        )
        await response(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Starlette:
    """The application; it owns (and disposes) its database unless one is given."""
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
    graphql = GraphQLApp(settings, database, clock)

    async def healthz(request: Request) -> Response:
        ok = await database.is_up()
        return JSONResponse(
            {"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if owned:
            await database.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app


def app_from_environment() -> Starlette:
    """Factory for uvicorn workers: settings (and DATABASE_URL) from the environment."""
    return create_app(Settings())
