"""Two servers on one embedded PostgreSQL: only the one that started it stops it."""

import json
from pathlib import Path

import httpx
import pytest

from db import embedded
from tests.demo_server import REQUEST_TIMEOUT, demo_server, postgres_processes

COURSES = "{ courses(first: 1) { edges { node { key } } } }"


def _courses(base_url: str) -> httpx.Response:
    return httpx.post(f"{base_url}/graphql", json={"query": COURSES}, timeout=REQUEST_TIMEOUT)


@pytest.mark.slow
def test_a_server_that_attached_leaves_the_postgresql_running_for_the_one_that_started_it(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "pgdata"
    with demo_server(data_dir, demo=False) as first:
        postmaster = {p.pid for p in postgres_processes(data_dir)}
        with demo_server(data_dir, demo=False) as second:
            assert _courses(second.base_url).status_code == 200
            # The package's own rule stops the server when the exiting process is the last
            # in its pid list; make the second one the last, as a lost or stale list did.
            handles = data_dir / ".handle_pids.json"
            handles.write_text(json.dumps([second.process.pid]))
        after_second = _courses(first.base_url)
        ready = httpx.get(f"{first.base_url}/readyz", timeout=REQUEST_TIMEOUT)
        still_running = {p.pid for p in postgres_processes(data_dir)}

    assert (after_second.status_code, after_second.json()) == (
        200,
        {"data": {"courses": {"edges": []}}},
    )
    assert ready.status_code == 200
    assert postmaster and postmaster <= still_running
    assert second.exit_code == 0, second.log
    assert "attached to the embedded PostgreSQL already running" in second.log
    assert "left running: another process started it" in second.log
    assert first.exit_code == 0, first.log
    assert "embedded PostgreSQL started with data in" in first.log
    assert f"embedded PostgreSQL in {data_dir.resolve()} stopped" in first.log
    assert postgres_processes(data_dir) == []


def test_the_default_data_directory_is_one_per_checkout() -> None:
    default = embedded.default_data_dir()

    assert default.name == "pgdata"
    assert default.parent.name.startswith(embedded.CHECKOUT.name + "-")
    assert default.parent.parent.name == "learntrack"
