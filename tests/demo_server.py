"""A real `learntrack serve` process for end-to-end tests, stopped on exit.

Nothing here asserts how fast the server is: readiness is polled until it comes, and the
deadlines below only keep a broken server from hanging the suite forever.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

# Safety nets against hanging, far beyond any correct run on a loaded machine.
HANG_DEADLINE_SECONDS = 120.0
# Per request: a first query on a loaded machine may be slow, and slow is not wrong.
REQUEST_TIMEOUT = httpx.Timeout(60.0)


@dataclass
class DemoServer:
    base_url: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    exit_code: int | None = None

    @property
    def log(self) -> str:
        return "".join(self.output)

    @property
    def token(self) -> str:
        found = re.search(r"Bearer ([\w\-.]+)", self.log)
        assert found, self.log
        return found.group(1)

    def worker_pids(self) -> set[int]:
        """The pids of the worker processes (none when serving with one process)."""
        children = psutil.Process(self.process.pid).children()
        return {c.pid for c in children if "spawn_main" in " ".join(c.cmdline())}

    def wait_until(self, predicate: Callable[["DemoServer"], bool], what: str) -> None:
        """Poll until ``predicate`` holds; fail only if the server died or hangs."""
        deadline = time.monotonic() + HANG_DEADLINE_SECONDS
        while not predicate(self):
            code = self.process.poll()
            assert code is None, f"server exited ({code}) while waiting for {what}\n{self.log}"
            assert time.monotonic() < deadline, f"still no {what}: hung?\n{self.log}"
            time.sleep(0.1)


def ready(server: DemoServer) -> bool:
    try:
        return httpx.get(f"{server.base_url}/readyz", timeout=REQUEST_TIMEOUT).status_code == 200
    except httpx.TransportError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    """The PostgreSQL processes serving ``data_dir``."""
    found = []
    for proc in psutil.process_iter(attrs=("name", "cmdline")):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and any(str(data_dir) in arg for arg in cmdline):
            found.append(proc)
    return found


@contextmanager
def demo_server(data_dir: Path, *, workers: int = 1, demo: bool = True) -> Iterator[DemoServer]:
    """Start `serve` on a free loopback port, wait until /readyz says ready, stop it after.

    The exit code is in ``exit_code`` once the block has ended.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["LEARNTRACK_DATA_DIR"] = str(data_dir)
    command = [sys.executable, "-m", "gql", "serve", "--port", str(port)]
    command += ["--workers", str(workers), *(["--demo"] if demo else [])]
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    server = DemoServer(base_url=f"http://127.0.0.1:{port}", process=proc)
    reader = threading.Thread(target=lambda: server.output.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        server.wait_until(ready, "readiness")
        yield server
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            server.exit_code = proc.wait(timeout=HANG_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=HANG_DEADLINE_SECONDS)
        if proc.stdout:
            proc.stdout.close()
