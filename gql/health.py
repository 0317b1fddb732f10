"""Probes: ``/healthz`` says the process answers, ``/readyz`` that it can serve traffic."""

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from db import health as db_health
from db.engine import Database


async def healthz(request: Request) -> Response:
    """Liveness: no database call, so a slow database never gets a live process restarted."""
    return JSONResponse({"status": "ok"})


def readyz(database: Database) -> Callable[[Request], Awaitable[Response]]:
    """Readiness: the database answers and its schema is at this code's migration head."""

    async def endpoint(request: Request) -> Response:
        readiness = await db_health.check_readiness(database)
        if not readiness.database_reachable:
            status = "database unreachable"
        elif not readiness.at_head:
            status = "migrations not at head"
        else:
            status = "ready"
        return JSONResponse(
            {
                "status": status,
                "migrations": {"applied": readiness.applied, "head": readiness.head},
            },
            status_code=200 if readiness.at_head else 503,
        )

    return endpoint
