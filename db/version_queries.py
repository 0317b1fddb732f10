"""The data versions an ETag is derived from (migration 0008 keeps them)."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.attempt_queries import zone_at


async def get_versions(
    conn: AsyncConnection, user_id: uuid.UUID | None, now: datetime | None = None
) -> Row[Any]:
    """The content version, and the user's version, time zone and floor day in effect at
    ``now`` (nulls for no or an unknown user), in one statement, on a connection that has
    not begun a transaction."""
    # Autocommit: one round trip, where a transaction would add BEGIN and ROLLBACK to a
    # request (a 304) that sends nothing else to the database.
    await conn.execution_options(isolation_level="AUTOCOMMIT")
    result = await conn.execute(
        text(
            "SELECT (SELECT version FROM content_version) AS content_version,"
            " u.data_version AS user_version, coalesce(zn.timezone, u.timezone) AS timezone,"
            " zn.floor_day"
            " FROM (SELECT CAST(:u AS uuid) AS id) k LEFT JOIN users u ON u.id = k.id"
            + zone_at("k.id", "CAST(:now AS timestamptz)", "zn")
        ),
        {"u": user_id, "now": now or datetime.now(UTC)},
    )
    return result.one()
