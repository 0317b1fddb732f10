"""A GraphQL-over-HTTP request read from GET parameters or a JSON POST body, within limits.

Anything that is not a well-formed request is refused here with a 4xx, before a parser,
a resolver or the database sees it: wrong content type or coding, bytes that are not UTF-8
JSON, a body that is not an object, parameters of the wrong type, and sizes or nesting over
the configured limits.
"""

import re
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request

from gql.http_errors import RequestRefused
from gql.media_types import JSON, UTF8, parse_media_type
from gql.settings import Settings

# The spec's parameters, plus a few unknown ones a client may add; far more is an attack.
MAX_QUERY_PARAMETERS = 16
GZIP = 16 + zlib.MAX_WBITS
DECOMPRESSORS = {"gzip": GZIP, "x-gzip": GZIP, "deflate": zlib.MAX_WBITS}
SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
# orjson's own nesting limit (1024) is a JSONDecodeError: the same refusal as ours, not
# "not valid JSON".
ORJSON_TOO_DEEP = "depth limit exceeded"


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str | None  # None only when the request names a persisted query by its hash
    variables: dict[str, Any] | None
    operation_name: str | None
    persisted_hash: str | None = None  # extensions.persistedQuery.sha256Hash, lower case


@dataclass(frozen=True, slots=True)
class RequestLimits:
    max_body_bytes: int
    max_query_length: int
    max_variables_bytes: int
    max_json_depth: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "RequestLimits":
        return cls(
            max_body_bytes=settings.max_body_bytes,
            max_query_length=settings.max_query_length,
            max_variables_bytes=settings.max_variables_bytes,
            max_json_depth=settings.max_json_depth,
        )


def from_query_string(raw: bytes, limits: RequestLimits) -> GraphQLRequest:
    """The request in a GET URL's query string (``application/x-www-form-urlencoded``)."""
    if len(raw) > limits.max_body_bytes:
        raise RequestRefused(414, "the query string is too long; send the request with POST")
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_QUERY_PARAMETERS,
        )
    except UnicodeDecodeError as exc:
        raise RequestRefused(400, "the query string is not valid UTF-8") from exc
    except ValueError as exc:
        raise RequestRefused(400, "the query string has too many parameters") from exc
    params: dict[str, Any] = {}
    for name, value in pairs:
        if name in params:
            raise RequestRefused(400, f"the parameter '{name[:32]}' is given more than once")
        params[name] = value
    for name in ("variables", "extensions"):
        if params.get(name):
            if name == "variables" and len(params[name]) > limits.max_variables_bytes:
                raise RequestRefused(413, "the variables are too large")
            params[name] = _load_json(params[name].encode(), f"'{name}'", limits.max_json_depth)
    return _graphql_request(params, limits)


async def from_body(request: Request, limits: RequestLimits) -> GraphQLRequest:
    """The request in a POST body: JSON, UTF-8, maybe gzip or deflate coded."""
    content_type = request.headers.get("content-type")
    if content_type is None:
        raise RequestRefused(415, "a POST needs 'Content-Type: application/json'")
    media_type, params = parse_media_type(content_type)
    if media_type != JSON or params.get("charset", "utf-8").lower() not in UTF8:
        raise RequestRefused(415, "send the request as 'Content-Type: application/json' (UTF-8)")
    body = _decode_content(
        await request.body(), request.headers.get("content-encoding"), limits.max_body_bytes
    )
    if not body.strip():
        raise RequestRefused(400, "the request body is empty")
    document = _load_json(body, "the request body", limits.max_json_depth)
    if not isinstance(document, dict):
        raise RequestRefused(400, "the request body must be a JSON object (batches are refused)")
    # Before anything serialises the variables: orjson refuses to write past 254 levels.
    _check_depth(document, limits.max_json_depth)
    if document.get("variables") is not None and (
        len(orjson.dumps(document["variables"])) > limits.max_variables_bytes
    ):
        raise RequestRefused(413, "the variables are too large")
    return _graphql_request(document, limits)


def _decode_content(body: bytes, coding: str | None, max_bytes: int) -> bytes:
    coding = (coding or "identity").strip().lower()
    if coding == "identity":
        return body
    wbits = DECOMPRESSORS.get(coding)
    if wbits is None:
        raise RequestRefused(
            415, f"Content-Encoding '{coding[:32]}' is not supported: use gzip, deflate or none"
        )
    decompressor = zlib.decompressobj(wbits)
    try:
        # Bounded: a few kilobytes of gzip can inflate to gigabytes.
        decoded = decompressor.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise RequestRefused(400, f"the request body is not valid {coding} data") from exc
    if len(decoded) > max_bytes:
        raise RequestRefused(413, "the request body is too large once decompressed")
    if not decompressor.eof or decompressor.unused_data:
        raise RequestRefused(400, f"the request body is not one complete {coding} stream")
    return decoded


def _load_json(data: bytes, what: str, max_depth: int) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith(ORJSON_TOO_DEEP):
            raise _too_deep(max_depth) from exc
        raise RequestRefused(400, f"{what} is not valid JSON in UTF-8") from exc


def _check_depth(params: dict[str, Any], max_depth: int) -> None:
    if _json_depth(params, max_depth) > max_depth:
        raise _too_deep(max_depth)


def _too_deep(max_depth: int) -> RequestRefused:
    return RequestRefused(400, f"the request nests deeper than {max_depth} levels")


def _json_depth(value: Any, limit: int) -> int:
    """Nesting depth of containers (``{}`` is 1), counted without recursion, up to limit+1."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _graphql_request(params: dict[str, Any], limits: RequestLimits) -> GraphQLRequest:
    _check_depth(params, limits.max_json_depth)
    query = params.get("query")
    variables = params.get("variables")
    operation_name = params.get("operationName")
    extensions = params.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestRefused(400, "'extensions' must be an object")
    persisted_hash = _persisted_hash(extensions or {})
    if query is None and persisted_hash is None:
        raise RequestRefused(400, "the request has no 'query'")
    if query is not None and not isinstance(query, str):
        raise RequestRefused(400, "'query' must be a string")
    if query is not None and len(query) > limits.max_query_length:
        raise RequestRefused(413, f"'query' is longer than {limits.max_query_length} characters")
    if variables is not None and not isinstance(variables, dict):
        raise RequestRefused(400, "'variables' must be an object")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestRefused(400, "'operationName' must be a string")
    if operation_name == "":
        operation_name = None  # The spec: an empty name is no name.
    return GraphQLRequest(
        query=query,
        variables=variables,
        operation_name=operation_name,
        persisted_hash=persisted_hash,
    )


def _persisted_hash(extensions: dict[str, Any]) -> str | None:
    """The SHA-256 in Apollo's ``persistedQuery`` extension (version 1), if there is one."""
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise RequestRefused(400, "only version 1 of 'extensions.persistedQuery' is supported")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not SHA256_HEX.fullmatch(digest):
        raise RequestRefused(
            400, "'extensions.persistedQuery.sha256Hash' must be 64 hexadecimal digits"
        )
    return digest.lower()
