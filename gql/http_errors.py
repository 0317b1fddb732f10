"""Requests refused at the HTTP edge: a 4xx status and a GraphQL-shaped JSON error body.

Every refusal carries ``{"errors": [{"message", "extensions": {"code"}}]}`` so that a client
parses one shape whatever went wrong, and there is no ``data`` entry: nothing was executed.
"""

from collections.abc import Mapping

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

JSON = "application/json"

CODES_BY_STATUS = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class RequestRefused(Exception):
    """The request cannot be a GraphQL request: answer ``status`` and stop."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODES_BY_STATUS.get(status, "BAD_REQUEST")
        self.headers = dict(headers or {})


def error_body(message: str, code: str, **extensions: str) -> bytes:
    return orjson.dumps(
        {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    )


def refusal_response(refused: RequestRefused, media_type: str = JSON) -> Response:
    return Response(
        error_body(refused.message, refused.code),
        status_code=refused.status,
        media_type=f"{media_type}; charset=utf-8",
        headers=refused.headers,
    )


async def http_exception_response(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (unknown path, wrong method) in the same JSON shape."""
    assert isinstance(exc, HTTPException)
    return refusal_response(
        RequestRefused(exc.status_code, exc.detail, headers=exc.headers or None)
    )
