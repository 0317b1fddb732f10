"""The real `learntrack serve --demo` process: embedded PostgreSQL, demo data, HTTP, shutdown."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

READY_WITHIN_SECONDS = 10.0
STATIC = Path(__file__).resolve().parents[1] / "gql" / "static" / "graphiql"

TREE = """{ courses(first: 5) { edges { node { key title totalTasks
  progress { solvedTasks totalTasks }
  sections { title themes { title tasks { key state { status } } } } } } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _postgres_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(attrs=("name", "cmdline")):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and any(str(data_dir) in arg for arg in cmdline):
            found.append(proc)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_serve_demo_answers_graphql_and_stops_cleanly(tmp_path: Path, workers: int) -> None:
    port = _free_port()
    data_dir = tmp_path / "pgdata"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["LEARNTRACK_DATA_DIR"] = str(data_dir)
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gql",
            "serve",
            "--demo",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout or []), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        ready_after = None
        while time.monotonic() - started < READY_WITHIN_SECONDS + 20:
            assert proc.poll() is None, "".join(output)
            try:
                # /healthz answers once the process is up; /readyz once it can serve.
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    ready_after = time.monotonic() - started
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert ready_after is not None and ready_after < READY_WITHIN_SECONDS, (
            ready_after,
            "".join(output),
        )

        token = re.search(r"Bearer ([\w\-.]+)", "".join(output))
        assert token, "".join(output)
        response = httpx.post(
            f"{base}/graphql",
            json={"query": TREE},
            headers={"Authorization": f"Bearer {token.group(1)}"},
        )
        body = response.json()
        assert "errors" not in body, body
        course = body["data"]["courses"]["edges"][0]["node"]
        assert course["key"] == "python-foundations"
        assert course["totalTasks"] == 30
        assert course["progress"] == {"solvedTasks": 0, "totalTasks": 30}
        assert len(course["sections"]) == 3

        graphiql = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"})
        assert graphiql.status_code == 200
        assert "graphiql" in graphiql.text.lower()
        assert f"Bearer {token.group(1)}" in graphiql.text  # The Headers tab, pre-filled.
        # A static file of several write chunks comes whole, on one keep-alive connection
        # (responses are written through gql/http_protocol.py).
        asset = STATIC / "graphiql.min.css"
        with httpx.Client(base_url=base) as keep_alive:
            served = [keep_alive.get("/graphiql/graphiql.min.css") for _ in range(2)]
        assert [answer.content for answer in served] == [asset.read_bytes()] * 2
        # Several connections at once are all answered, whichever worker takes them.
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda _: httpx.get(f"{base}/readyz").status_code, range(16)))
        assert statuses == [200] * 16
        workers_seen = [
            child
            for child in psutil.Process(proc.pid).children(recursive=True)
            if "postgres" not in child.name()
            and "resource_tracker" not in " ".join(child.cmdline())
        ]
        assert len(workers_seen) == (workers if workers > 1 else 0)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        finally:
            reader.join(timeout=5)
            if proc.stdout:
                proc.stdout.close()
    assert code == 0, "".join(output)
    assert "Traceback" not in "".join(output)
    assert _postgres_processes(data_dir) == []
    assert not any(child.is_running() for child in workers_seen)
