"""The learntrack server as a child process: started as production would run it, then stopped."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from gql.http_protocol import HTTP_PROTOCOL

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Server:
    pid: int
    base_url: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def uvicorn_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "gql.app:app_from_environment",
        "--factory",
        f"--host={HOST}",
        f"--port={port}",
        "--loop=uvloop",
        f"--http={HTTP_PROTOCOL}",  # httptools, each response in one write
        "--workers=1",
        "--no-access-log",
    ]


def serve_command(port: int, workers: int) -> list[str]:
    """``learntrack serve`` as production runs it: N workers, one SO_REUSEPORT socket each."""
    return [
        sys.executable,
        "-m",
        "gql",
        "serve",
        f"--host={HOST}",
        f"--port={port}",
        f"--workers={workers}",
    ]


def profiled_command(port: int, output: Path) -> list[str]:
    script = Path(__file__).resolve().parent / "profiled_server.py"
    return [sys.executable, str(script), f"--port={port}", f"--output={output}"]


@contextmanager
def running(command: list[str], port: int, database_url: str, log: Path) -> Iterator[Server]:
    """Run ``command`` (a server on ``port``) until the block ends; wait for /healthz first."""
    env = {**os.environ, "DATABASE_URL": database_url, "LEARNTRACK_ENV": "development"}
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
        try:
            base_url = f"http://{HOST}:{port}"
            _wait_healthy(process, base_url, log)
            yield Server(process.pid, base_url)
        finally:
            _stop(process)


def _wait_healthy(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}; see {log}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.1)
    raise RuntimeError(f"the server was not healthy within 60 s; see {log}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    # SIGTERM lets uvicorn finish the lifespan, which disposes of the connection pool.
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for_file(path: Path, timeout: float = 60) -> None:
    """Wait until ``path`` exists (a report the server writes on a signal)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} did not appear within {timeout:.0f} s")
        time.sleep(0.1)
