"""Database failures that are faults of the moment, not bugs: the server is restarting,
failing over, in recovery or out of connections (retry later), or a statement ran past
``statement_timeout``. Everything else stays an unexpected error."""

import errno
from collections.abc import Iterator
from typing import Literal

import asyncpg
from sqlalchemy import exc as sa_exc

Fault = Literal["unavailable", "timeout"]


class ConnectionBroken(Exception):
    """A connection found broken before its transaction could end: nothing was committed."""


# SQLSTATEs of a server that cannot serve now: connection exceptions (class 08), shutdown
# and recovery (57P01–57P03), too many connections (53300), a read-only standby (25006).
UNAVAILABLE_STATES = frozenset(
    {"08000", "08001", "08003", "08004", "08006", "08007", "57P01", "57P02", "57P03", "53300"}
    | {"25006"}
)
# Connecting to a server that is not there: its Unix socket is gone while it restarts, or
# its host cannot be reached.
UNREACHABLE_ERRNOS = frozenset(
    {errno.ENOENT, errno.ETIMEDOUT, errno.EHOSTUNREACH, errno.ENETUNREACH}
)
TIMEOUT_STATE = "57014"  # query_canceled: statement_timeout (we never cancel otherwise)


def classify(error: BaseException) -> Fault | None:
    """Whether ``error`` (or what it wraps) is the database being unavailable or a statement
    timeout; None for anything else."""
    for cause in _chain(error):
        state = getattr(cause, "sqlstate", None)
        if state == TIMEOUT_STATE:
            return "timeout"
        if state in UNAVAILABLE_STATES:
            return "unavailable"
        if isinstance(cause, ConnectionError | ConnectionBroken | sa_exc.TimeoutError):
            return "unavailable"  # refused or reset socket; no pooled connection free in time
        if isinstance(cause, OSError) and cause.errno in UNREACHABLE_ERRNOS:
            return "unavailable"
        if isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated:
            return "unavailable"
        if isinstance(cause, asyncpg.InterfaceError) and "connection is closed" in str(cause):
            return "unavailable"
    return None


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and everything it wraps: causes, contexts and SQLAlchemy's ``orig``."""
    pending: list[object] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]
