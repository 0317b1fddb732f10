"""GraphiQL served by the package itself: pinned assets, our page, a CSP of our origin only.

Nothing is fetched from a CDN, so the page works offline and under a strict policy. The
bootstrap script is a file too (the policy forbids inline scripts); it reads the endpoint
and the pre-filled headers from data attributes of the page.
"""

from html import escape
from pathlib import Path
from string import Template

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from gql.settings import Settings

ASSETS_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
ASSETS_PATH = "/graphiql"

# data: only for the fonts and icons that graphiql.min.css embeds; nothing else leaves 'self'.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

PAGE = Template(
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>learntrack · GraphiQL</title>
<link rel="stylesheet" href="$assets/graphiql.min.css">
<link rel="stylesheet" href="$assets/page.css">
</head>
<body>
<div id="graphiql" data-endpoint="$endpoint" data-headers="$headers">Loading GraphiQL…</div>
<script src="$assets/react.production.min.js"></script>
<script src="$assets/react-dom.production.min.js"></script>
<script src="$assets/graphiql.min.js"></script>
<script src="$assets/start.js"></script>
</body>
</html>
"""
)


def page(request: Request, settings: Settings) -> Response:
    """The GraphiQL page for ``request``'s URL, headers tab pre-filled from the settings."""
    root = request.scope.get("root_path", "")
    headers = settings.graphiql_default_headers
    html = PAGE.substitute(
        assets=escape(root + ASSETS_PATH),
        endpoint=escape(request.url.path),
        headers=escape(orjson.dumps(headers, option=orjson.OPT_INDENT_2).decode())
        if headers
        else "",
    )
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            # The page may carry a bearer token: keep it out of caches.
            "Cache-Control": "no-store",
        },
    )


def assets() -> Mount:
    """The vendored GraphiQL, React and our bootstrap script, under ``/graphiql``."""
    return Mount(ASSETS_PATH, app=StaticFiles(directory=ASSETS_DIR), name="graphiql")
