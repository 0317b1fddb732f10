"""Probes: ``/healthz`` says the process answers, ``/readyz`` that it can serve traffic."""

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from db import health as db_health
from db.engine import Database
from gql import workers


async def healthz(request: Request) -> Response:
    """Liveness: no database call, so a slow database never gets a live process restarted."""
    return JSONResponse({"status": "ok"})


def readyz(database: Database) -> Callable[[Request], Awaitable[Response]]:
    """Readiness: the database answers at this code's migration head, and every worker serves.

    A load balancer then holds traffic back while a supervised server is short of workers
    (one died and its replacement is starting), not only while the database is away.
    """

    async def endpoint(request: Request) -> Response:
        readiness = await db_health.check_readiness(database)
        board = workers.current_board()
        serving = board.serving() if board else 0
        workers_short = board is not None and serving < board.expected
        if not readiness.database_reachable:
            status = "database unreachable"
        elif not readiness.at_head:
            status = "migrations not at head"
        elif workers_short:
            status = "workers not all serving"
        else:
            status = "ready"
        body: dict[str, Any] = {
            "status": status,
            "migrations": {"applied": readiness.applied, "head": readiness.head},
        }
        if board is not None:
            body["workers"] = {"serving": serving, "expected": board.expected}
        return JSONResponse(body, status_code=200 if status == "ready" else 503)

    return endpoint
