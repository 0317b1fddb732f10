"""GraphiQL is served from the package: no CDN, a policy of our own origin, pinned assets."""

import hashlib
import re
from typing import Any

from gql.graphiql import ASSETS_DIR
from tests.graphql_client import GraphQLClient

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
OUR_FILES = ("start.js", "page.css")


async def test_the_page_loads_only_same_origin_assets_under_a_strict_policy(
    client: GraphQLClient,
) -> None:
    page = await client.http.get("/graphql", headers=BROWSER)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in page.headers["content-security-policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert "unsafe" not in page.headers["content-security-policy"]
    assert "http" not in page.text.replace("http-equiv", "")
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all(
        'src="/graphiql/' in attributes and not body for attributes, body in scripts
    )
    for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        if url.startswith("data:"):
            continue
        asset = await client.http.get(url)
        assert asset.status_code == 200, url


async def test_our_own_assets_name_no_other_host() -> None:
    for name in OUR_FILES:
        assert not re.search(r"https?://", (ASSETS_DIR / name).read_text()), name


async def test_vendored_files_match_the_versions_recorded_in_their_readme() -> None:
    readme = (ASSETS_DIR / "README.md").read_text()
    recorded = dict(re.findall(r"`([\w.-]+\.(?:js|css))` \| [^|]+ \| `([0-9a-f]{64})`", readme))

    assert set(recorded) == {
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    }
    for name, digest in recorded.items():
        assert hashlib.sha256((ASSETS_DIR / name).read_bytes()).hexdigest() == digest, name


async def test_headers_are_prefilled_from_the_settings_and_escaped(make_client: Any) -> None:
    token = 'abc"><script>alert(1)</script>'
    with_headers: GraphQLClient = make_client(
        graphiql_default_headers={"Authorization": f"Bearer {token}"}
    )
    without: GraphQLClient = make_client()

    page = (await with_headers.http.get("/graphql", headers=BROWSER)).text
    plain = (await without.http.get("/graphql", headers=BROWSER)).text

    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'data-headers=""' in plain
