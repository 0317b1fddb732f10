"""``/graphql`` over HTTP (https://graphql.github.io/graphql-over-http/draft/).

GET serves GraphiQL to a browser, or runs a query; POST runs a query or a mutation. The
response's media type is negotiated: with ``application/graphql-response+json`` a request
that could not be executed (parse, validation or variable errors) is a 400 without
``data``; with legacy ``application/json`` every well-formed request is a 200. Malformed
requests are refused with a 4xx before anything runs, whatever the media type.

Queries may be named by hash (gql/persisted_queries.py), and a GET query's answer carries an
ETag derived from data versions (gql/revalidation.py): ``If-None-Match`` with a current tag
is answered 304 after one SQL statement, without executing anything.
"""

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import strawberry
from graphql import ExecutionResult
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from db import faults
from domain import data_versions
from gql import graphiql, graphql_request, media_types, revalidation, trusted_documents
from gql.context import Context
from gql.errors import UNAVAILABLE_MESSAGE, ServiceUnavailable
from gql.http_errors import RequestRefused, error_body, refusal_response
from gql.operations import Operations
from gql.persisted_queries import PersistedQueries, PersistedQueryUnavailable, sha256_hex
from gql.rate_limits import Admission, LeakyBuckets, RateLimited
from gql.request_log import current_request
from gql.settings import Settings
from gql.trusted_documents import TrustedDocuments

ContextFactory = Callable[[Request, Any], Awaitable[Context]]

log = logging.getLogger(__name__)

QUERIES = frozenset({OperationType.QUERY})
# Long enough for a restart or failover to finish, short enough not to idle a mobile client.
RETRY_AFTER_SECONDS = "2"
RATE_LIMITED = "RATE_LIMITED"
QUERIES_AND_MUTATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})


class GraphQLEndpoint:
    def __init__(
        self,
        schema: strawberry.Schema,
        settings: Settings,
        make_context: ContextFactory,
        tracer: Any = None,
    ) -> None:
        self.schema = schema
        self.settings = settings
        self.make_context = make_context
        self.operations = Operations(schema, settings, tracer)
        self.limits = graphql_request.RequestLimits.from_settings(settings)
        self.trusted = (
            TrustedDocuments.load(settings.trusted_documents)
            if settings.trusted_documents is not None
            else None
        )
        self.buckets = (
            LeakyBuckets(burst=settings.rate_limit_burst, per_second=settings.rate_limit_per_second)
            if settings.rate_limits_enabled
            else None
        )
        self.persisted_queries = PersistedQueries(
            max_entries=settings.apq_cache_entries, max_chars=settings.apq_cache_chars
        )
        self.etags = (
            revalidation.ETags.for_server(str(schema), settings) if settings.etags else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.respond(Request(scope, receive))
        if "vary" not in response.headers:
            response.headers["Vary"] = "Accept"
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        accept = request.headers.get("accept")
        is_get = request.method in ("GET", "HEAD")
        if is_get and not request.scope["query_string"] and media_types.accepts_html(accept):
            if not self.settings.graphiql_enabled:
                return self._refused(RequestRefused(404, "GraphiQL is not enabled on this server"))
            return graphiql.page(request, self.settings)
        media_type = media_types.negotiate(accept)
        if media_type is None:
            return self._refused(
                RequestRefused(
                    406,
                    f"this endpoint answers in {media_types.GRAPHQL_RESPONSE_JSON}"
                    f" or {media_types.JSON} (UTF-8)",
                )
            )
        try:
            if is_get:
                parsed = graphql_request.from_query_string(
                    request.scope["query_string"], self.limits
                )
            else:
                parsed = await graphql_request.from_body(request, self.limits)
            query = (
                self.persisted_queries.query_for(parsed)
                if self.trusted is None
                else _trusted_query(self.trusted, parsed)
            )
        except RequestRefused as refused:
            return self._refused(refused, media_type)
        except PersistedQueryUnavailable as unavailable:
            return self._persisted_query_unavailable(unavailable, media_type)
        try:
            return await self._execute(
                request, parsed, query, media_type, QUERIES if is_get else None
            )
        except Exception as error:
            # The database away before the operation ran (the ETag's version read): the
            # same answer as from inside it. Anything else is a bug and propagates.
            if faults.classify(error) != "unavailable":
                raise
            log.warning("database unavailable before execution: %s", type(error).__name__)
            return self._refused(
                RequestRefused(
                    503,
                    UNAVAILABLE_MESSAGE,
                    headers={"Retry-After": RETRY_AFTER_SECONDS},
                    code=ServiceUnavailable.code,
                ),
                media_type,
            )

    async def _execute(
        self,
        request: Request,
        parsed: graphql_request.GraphQLRequest,
        query: str,
        media_type: str,
        only: frozenset[OperationType] | None,
    ) -> Response:
        context = await self.make_context(request, None)
        record = current_request.get()
        if record is not None and context.identity is not None:
            record.user_id = str(context.identity.user_id)
        key = version = None
        if only is not None and self.etags is not None and context.auth_problem is None:
            key = revalidation.RequestKey.of(
                document_hash=parsed.persisted_hash or sha256_hex(query),
                operation_name=parsed.operation_name,
                variables=parsed.variables,
                media_type=media_type,
                identity=context.identity,
            )
            # Read before the data, so the tag is never newer than the answer it labels.
            version = await context.database.read(
                data_versions.get_data_version,
                user_id=context.identity.user_id if context.identity else None,
                now=context.clock(),
                day_start_hour=context.settings.streak_day_start_hour,
            )
            current = self.etags.matching(request.headers.get("if-none-match"), key, version)
            if current is not None:
                return revalidation.not_modified(current)
        try:
            admission = self._admission(request, context)
            result = await self.operations.run(
                query,
                variables=parsed.variables,
                operation_name=parsed.operation_name,
                context=context,
                allowed=only or QUERIES_AND_MUTATIONS,
                admit=admission.admit if admission is not None else None,
            )
        except RateLimited:
            assert admission is not None
            return self._rate_limited(admission, media_type)
        except InvalidOperationTypeError as exc:
            if only is not None and exc.operation_type == OperationType.MUTATION:
                return self._refused(
                    RequestRefused(
                        405,
                        "mutations are not allowed over GET: use POST",
                        headers={"Allow": "POST"},
                    ),
                    media_type,
                )
            return self._request_error(
                f"{exc.operation_type.value} operations are not served over HTTP", media_type
            )
        except CannotGetOperationTypeError as exc:
            return self._request_error(exc.as_http_error_reason(), media_type)
        cost = admission.extension() if admission is not None else None
        if cost is not None:
            result.extensions = {**(result.extensions or {}), "cost": cost}
        response = self._result(result, media_type)
        if parsed.persisted_hash and parsed.query is not None and not _request_error(result):
            self.persisted_queries.remember(parsed.persisted_hash, query)
        if key is not None and version is not None and not result.errors and result.data:
            assert self.etags is not None
            tag = self.etags.tag(key, version, time_bound=context.clock_read)
            if tag is not None:
                revalidation.mark_cacheable(response, tag)
        return response

    def _result(self, result: ExecutionResult, media_type: str) -> Response:
        errors = result.errors or []
        codes = [(error.extensions or {}).get("code", "") for error in errors]
        _note_codes(codes)
        request_error = _request_error(result)
        body: dict[str, Any] = {}
        status = 200
        if media_type == media_types.GRAPHQL_RESPONSE_JSON and request_error:
            status = 500 if "INTERNAL_SERVER_ERROR" in codes else 400
        else:
            body["data"] = result.data
        if errors:
            body["errors"] = [error.formatted for error in errors]
        if result.extensions:
            body["extensions"] = result.extensions
        if ServiceUnavailable.code in codes:
            # Whatever else answered, the client should retry the request as a whole.
            response = _json(_dumps(body), 503, media_type)
            response.headers["Retry-After"] = RETRY_AFTER_SECONDS
            return response
        return _json(_dumps(body), status, media_type)

    def _admission(self, request: Request, context: Context) -> Admission | None:
        """The request's passage through its learner's (or its address's) cost bucket."""
        if self.buckets is None:
            return None
        if context.identity is not None:
            return Admission(self.buckets, f"user:{context.identity.user_id}")
        return Admission(self.buckets, f"address:{request.client.host if request.client else ''}")

    def _rate_limited(self, admission: Admission, media_type: str) -> Response:
        """Over budget: nothing ran; 429 whatever the media type, with when to come back."""
        assert admission.decision is not None
        _note_codes([RATE_LIMITED])
        error = {
            "message": "over the query-cost budget: retry after Retry-After seconds",
            "extensions": {"code": RATE_LIMITED, "cost": admission.extension()},
        }
        response = _json(_dumps({"errors": [error]}), 429, media_type)
        response.headers["Retry-After"] = str(admission.decision.retry_after_seconds)
        return response

    def _request_error(self, message: str, media_type: str) -> Response:
        """A well-formed request that names no operation it can run."""
        _note_codes(["BAD_REQUEST"])
        if media_type == media_types.GRAPHQL_RESPONSE_JSON:
            return _json(error_body(message, "BAD_REQUEST"), 400, media_type)
        body = {"data": None, **orjson.loads(error_body(message, "BAD_REQUEST"))}
        return _json(orjson.dumps(body), 200, media_type)

    def _refused(self, refused: RequestRefused, media_type: str = media_types.JSON) -> Response:
        _note_codes([refused.code])
        return refusal_response(refused, media_type)

    def _persisted_query_unavailable(
        self, unavailable: PersistedQueryUnavailable, media_type: str
    ) -> Response:
        """Nothing ran; 200 whatever the media type, so that the client sends the query."""
        _note_codes([unavailable.code])
        body = orjson.loads(error_body(unavailable.message, unavailable.code))
        if media_type == media_types.JSON:
            body = {"data": None, **body}
        return _json(orjson.dumps(body), 200, media_type)


def _trusted_query(trusted: TrustedDocuments, parsed: graphql_request.GraphQLRequest) -> str:
    """The listed document the request names (by id) or sends (as text); refused, before
    anything parses it, when it is not listed."""
    found = trusted.document(id_=parsed.persisted_hash, text=parsed.query)
    if found is None or (parsed.query is not None and parsed.query != found):
        raise RequestRefused(
            400, "this server runs only its trusted documents", code=trusted_documents.NOT_IN_LIST
        )
    return found


def _dumps(body: dict[str, Any]) -> bytes:
    """The response body as JSON. orjson writes integers of up to 64 bits only; a JSON value
    a client stored (an attempt's payload) may hold a larger one, which the standard library
    writes exactly, as it was sent."""
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _request_error(result: ExecutionResult) -> bool:
    # No path on any error and no data: the request failed before execution began.
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


def _note_codes(codes: list[str]) -> None:
    record = current_request.get()
    if record is not None:
        record.error_codes.extend(codes)


def _json(body: bytes, status: int, media_type: str) -> Response:
    return Response(
        body,
        status_code=status,
        media_type=f"{media_type}; charset=utf-8",
        # Answers depend on the bearer token: no shared cache may keep them.
        headers={"Cache-Control": "no-store"},
    )
