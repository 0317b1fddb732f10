"""What a benchmark's numbers depend on besides the code: machine, versions, commit."""

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "strawberry-graphql",
    "graphql-core",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "asyncpg",
)


def describe() -> dict[str, Any]:
    """Machine, Python and package versions, and the commit (with or without local edits)."""
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "packages": {name: metadata.version(name) for name in PACKAGES},
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain")),
    }


def _git(*args: str) -> str:
    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    return done.stdout.strip()
