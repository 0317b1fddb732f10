"""`serve --workers N` replaces a worker that dies, says so in its log, /metrics and /readyz."""

import multiprocessing
import os
import re
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gql import workers
from tests.demo_server import REQUEST_TIMEOUT, DemoServer, demo_server, free_port
from tests.graphql_client import GraphQLClient

COURSES = "{ courses(first: 1) { edges { node { key } } } }"


def _query_with_retry(base_url: str, retries: list[int]) -> httpx.Response:
    # A worker killed with SIGKILL takes down the connections it held, in flight or still
    # waiting in its socket's accept queue: the client sees a reset and sends the query
    # again, as any client must across a server restart (README, "Supervised workers").
    for attempt in range(3):
        try:
            return httpx.post(
                f"{base_url}/graphql",
                json={"query": COURSES},
                headers={"Connection": "close"},  # a new connection each time
                timeout=REQUEST_TIMEOUT,
            )
        except httpx.TransportError:
            retries.append(attempt)
    raise AssertionError("no answer after 3 tries")


class _Traffic:
    """Queries sent one after another from a thread until stopped; every answer kept."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.answers: list[httpx.Response] = []
        self.retries: list[int] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopped.is_set():
            self.answers.append(_query_with_retry(self.base_url, self.retries))

    def __enter__(self) -> "_Traffic":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()


def _replaced(killed: int, before: set[int]) -> Callable[[DemoServer], bool]:
    def check(server: DemoServer) -> bool:
        now = server.worker_pids()
        if killed in now or len(now - before) != 1:
            return False
        try:  # a probe, not a client: a reset from the dying worker just means "not yet"
            ready = httpx.get(f"{server.base_url}/readyz", timeout=REQUEST_TIMEOUT)
        except httpx.TransportError:
            return False
        return ready.status_code == 200

    return check


@pytest.mark.slow
def test_a_killed_worker_is_replaced_counted_and_logged_while_queries_are_answered(
    tmp_path: Path,
) -> None:
    with demo_server(tmp_path / "pgdata", workers=2) as server:
        before = server.worker_pids()
        killed = min(before)
        with _Traffic(server.base_url) as traffic:
            # Answers before the kill, so the traffic demonstrably spans it.
            server.wait_until(lambda _: len(traffic.answers) >= 5, "traffic")
            os.kill(killed, signal.SIGKILL)
            # /readyz may or may not be caught at 503 in between: only the end state counts.
            server.wait_until(_replaced(killed, before), "a replacement worker")
            served_before_replacement = len(traffic.answers)
            server.wait_until(
                lambda _: len(traffic.answers) >= served_before_replacement + 5, "traffic"
            )
        (new_pid,) = server.worker_pids() - before
        scrapes = [
            httpx.get(
                f"{server.base_url}/metrics",
                headers={"Connection": "close"},
                timeout=REQUEST_TIMEOUT,
            ).text
            for _ in range(6)
        ]
        ready = httpx.get(f"{server.base_url}/readyz", timeout=REQUEST_TIMEOUT).json()

    assert [a.status_code for a in traffic.answers] == [200] * len(traffic.answers)
    keys = {a.json()["data"]["courses"]["edges"][0]["node"]["key"] for a in traffic.answers}
    assert keys == {"python-foundations"}
    assert len(traffic.answers) >= 10
    # Whichever worker answered the scrape reports the supervisor's count.
    assert all("learntrack_worker_restarts_total 1.0" in text for text in scrapes), scrapes
    assert all("learntrack_workers_serving 2.0" in text for text in scrapes)
    assert ready["workers"] == {"serving": 2, "expected": 2}
    logged = re.findall(
        rf"worker \d \(pid {killed}\) killed by SIGKILL; replaced by pid (\d+)", server.log
    )
    assert logged == [str(new_pid)], server.log
    assert server.exit_code == 0, server.log


@pytest.fixture
def board(monkeypatch: pytest.MonkeyPatch) -> workers.Board:
    shared = workers.Board(multiprocessing.get_context("spawn"), 2)
    monkeypatch.setattr(workers, "_board", shared)
    return shared


async def test_readyz_is_503_while_fewer_workers_serve_than_configured(
    make_client: Callable[..., GraphQLClient], board: workers.Board
) -> None:
    client = make_client()
    board.slots[0] = 4242
    short = await client.http.get("/readyz")
    board.slots[1] = -4343  # shutting down: no longer serving
    stopping = await client.http.get("/readyz")
    board.slots[1] = 4444
    full = await client.http.get("/readyz")

    assert (short.status_code, short.json()["status"]) == (503, "workers not all serving")
    assert short.json()["workers"] == {"serving": 1, "expected": 2}
    assert stopping.status_code == 503
    assert (full.status_code, full.json()["status"]) == (200, "ready")
    assert full.json()["workers"] == {"serving": 2, "expected": 2}


async def test_metrics_report_the_supervisors_restart_count(
    make_client: Callable[..., GraphQLClient], board: workers.Board
) -> None:
    client = make_client()
    board.slots[0] = 4242
    board.restarts.value = 3

    text = (await client.http.get("/metrics")).text

    assert "learntrack_worker_restarts_total 3.0" in text
    assert "learntrack_workers_serving 1.0" in text
    assert "learntrack_workers_expected 2.0" in text


async def test_unsupervised_process_reports_no_workers(client: GraphQLClient) -> None:
    ready = await client.http.get("/readyz")
    text = (await client.http.get("/metrics")).text

    assert ready.status_code == 200 and "workers" not in ready.json()
    assert "learntrack_worker" not in text


@pytest.mark.slow
def test_workers_failing_at_start_up_stop_the_supervisor_instead_of_respawning(
    monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    # Without DATABASE_URL the app cannot be built: every worker dies before serving.
    monkeypatch.delenv("DATABASE_URL", raising=False)
    supervisor = workers.Supervisor("127.0.0.1", free_port(), 2, {"log_level": "critical"})

    assert supervisor.run() == 1
    assert "before any worker served; stopping" in caplog.text
    assert supervisor.board.restarts.value == 0
