"""A real `learntrack serve --demo` process for end-to-end tests, stopped on exit."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

READY_WITHIN_SECONDS = 30.0


@dataclass
class DemoServer:
    base_url: str
    output: list[str] = field(default_factory=list)

    @property
    def token(self) -> str:
        found = re.search(r"Bearer ([\w\-.]+)", "".join(self.output))
        assert found, "".join(self.output)
        return found.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def demo_server(data_dir: Path) -> Iterator[DemoServer]:
    """Start the demo on a free loopback port, wait until /readyz says ready, stop it after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["LEARNTRACK_DATA_DIR"] = str(data_dir)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gql", "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = DemoServer(base_url=f"http://127.0.0.1:{port}")
    reader = threading.Thread(target=lambda: server.output.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + READY_WITHIN_SECONDS
        while True:
            assert proc.poll() is None, "".join(server.output)
            assert time.monotonic() < deadline, "".join(server.output)
            try:
                if httpx.get(f"{server.base_url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield server
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        if proc.stdout:
            proc.stdout.close()
