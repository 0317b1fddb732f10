"""CORS for the frontend origins named in the settings; off when none are named."""

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from gql.http_errors import RequestRefused, refusal_response
from gql.settings import Settings


class Cors(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered in our JSON error shape."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        return refusal_response(RequestRefused(400, bytes(response.body).decode()))


def cors_middleware(settings: Settings) -> list[Middleware]:
    """The CORS layer for ``settings.cors_origins`` (with credentials), or none at all."""
    if not settings.cors_origins:
        return []
    return [
        Middleware(
            Cors,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST"],
            # If-None-Match / ETag: for clients that revalidate by hand (gql/revalidation.py).
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Accept",
                "X-Request-Id",
                "If-None-Match",
            ],
            expose_headers=["X-Request-Id", "ETag"],
            max_age=600,
        )
    ]
