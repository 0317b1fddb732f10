"""The real `learntrack serve --demo` process: embedded PostgreSQL, demo data, HTTP, shutdown."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

from tests.demo_server import REQUEST_TIMEOUT, demo_server, postgres_processes

STATIC = Path(__file__).resolve().parents[1] / "gql" / "static" / "graphiql"

TREE = """{ courses(first: 5) { edges { node { key title totalTasks
  progress { solvedTasks totalTasks }
  sections { title themes { title tasks { key state { status } } } } } } } }"""


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_serve_demo_answers_graphql_and_stops_cleanly(tmp_path: Path, workers: int) -> None:
    data_dir = tmp_path / "pgdata"
    # demo_server polls /readyz until it answers 200, however long a loaded machine takes.
    with demo_server(data_dir, workers=workers) as server:
        base = server.base_url
        response = httpx.post(
            f"{base}/graphql",
            json={"query": TREE},
            headers={"Authorization": f"Bearer {server.token}"},
            timeout=REQUEST_TIMEOUT,
        )
        body = response.json()
        assert "errors" not in body, body
        course = body["data"]["courses"]["edges"][0]["node"]
        assert course["key"] == "python-foundations"
        assert course["totalTasks"] == 30
        assert course["progress"] == {"solvedTasks": 0, "totalTasks": 30}
        assert len(course["sections"]) == 3

        graphiql = httpx.get(
            f"{base}/graphql", headers={"Accept": "text/html"}, timeout=REQUEST_TIMEOUT
        )
        assert graphiql.status_code == 200
        assert "graphiql" in graphiql.text.lower()
        assert f"Bearer {server.token}" in graphiql.text  # The Headers tab, pre-filled.
        # A static file of several write chunks comes whole, on one keep-alive connection
        # (responses are written through gql/http_protocol.py).
        asset = STATIC / "graphiql.min.css"
        with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as keep_alive:
            served = [keep_alive.get("/graphiql/graphiql.min.css") for _ in range(2)]
        assert [answer.content for answer in served] == [asset.read_bytes()] * 2
        # Several connections at once are all answered, whichever worker takes them.
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(
                pool.map(
                    lambda _: httpx.get(f"{base}/readyz", timeout=REQUEST_TIMEOUT).status_code,
                    range(16),
                )
            )
        assert statuses == [200] * 16
        workers_seen = [psutil.Process(pid) for pid in server.worker_pids()]
        assert len(workers_seen) == (workers if workers > 1 else 0)

    assert server.exit_code == 0, server.log
    assert "Traceback" not in server.log
    assert postgres_processes(data_dir) == []
    assert not any(child.is_running() for child in workers_seen)
