"""GraphiQL in a real browser: headless Chromium drives `learntrack serve --demo`.

The page must work with nothing but the server: every request the browser makes goes to
127.0.0.1 or the test fails. A screenshot of the result is saved in test-artifacts/.
"""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import ConsoleMessage, Route, async_playwright

from tests.demo_server import demo_server

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Whatever slipped past the flags above could not even resolve a name.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
COURSE_TREE = (
    "{ courses(first: 5) { edges { node { title progress { solvedTasks totalTasks }"
    " sections { title themes { title tasks { key state { status } } } } } } } }"
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


async def test_graphiql_runs_the_course_tree_query_offline_in_chromium(tmp_path: Path) -> None:
    foreign: list[str] = []
    console_errors: list[str] = []

    async def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            foreign.append(route.request.url)
            await route.abort()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    with demo_server(tmp_path / "pgdata") as server:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=FLAGS, headless=True
            )
            try:
                context = await browser.new_context(viewport={"width": 1400, "height": 900})
                await context.route("**/*", only_loopback)
                page = await context.new_page()
                page.on("console", on_console)

                await page.goto(f"{server.base_url}/graphql")
                editor = page.locator(".graphiql-query-editor .CodeMirror")
                await editor.click()
                await page.keyboard.press("Control+A")
                await page.keyboard.press("Delete")
                await page.keyboard.type(COURSE_TREE)
                await page.keyboard.press("Shift+Control+P")  # Prettify, for the screenshot.
                await page.keyboard.press("Escape")  # Close the autocompletion list.
                await page.locator(".graphiql-execute-button").click()
                result = page.locator(".graphiql-response")
                # Waits as long as a loaded machine needs; the limit only stops a hang.
                await result.filter(has_text="Python Foundations").wait_for(timeout=120_000)
                headers = await page.locator(".graphiql-editor-tool").inner_text()
                response = await result.inner_text()
                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(path=ARTIFACTS / "graphiql-course-tree.png")
            finally:
                await browser.close()

    assert foreign == []
    assert f"Bearer {server.token}"[:40] in headers
    assert '"title": "Python Foundations"' in response
    assert '"solvedTasks": 0' in response and "UNAUTHENTICATED" not in response
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
    assert (ARTIFACTS / "graphiql-course-tree.png").stat().st_size > 10_000
