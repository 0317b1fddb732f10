"""Writes to badge and badge_rule."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import bindparam

BADGE_COLUMNS = "id, key, name, description, media, active"
RULE_COLUMNS = "id, key, badge_id, type, criteria, active"
CONTENT_TABLES = {"section", "theme", "course"}


async def id_by_key(conn: AsyncConnection, table: str, key: str) -> uuid.UUID | None:
    """The id of the content row with this key (table: section, theme or course)."""
    assert table in CONTENT_TABLES
    result = await conn.execute(text(f"SELECT id FROM {table} WHERE key = :key"), {"key": key})
    found: uuid.UUID | None = result.scalar()
    return found


async def badge_exists(conn: AsyncConnection, badge_id: uuid.UUID) -> bool:
    result = await conn.execute(text("SELECT 1 FROM badge WHERE id = :id"), {"id": badge_id})
    return result.one_or_none() is not None


async def insert_badge(
    conn: AsyncConnection, *, key: str, name: str, description: str, media: dict[str, Any]
) -> Row[Any] | None:
    """The new badge, or None when the key is taken."""
    result = await conn.execute(
        text(
            "INSERT INTO badge (key, name, description, media)"
            " VALUES (:key, :name, :description, :media)"
            f" ON CONFLICT (key) DO NOTHING RETURNING {BADGE_COLUMNS}"
        ).bindparams(bindparam("media", type_=JSONB)),
        {"key": key, "name": name, "description": description, "media": media},
    )
    return result.one_or_none()


async def update_badge(
    conn: AsyncConnection, badge_id: uuid.UUID, changes: dict[str, Any]
) -> Row[Any] | None:
    """Apply ``changes`` (name, description, media, active); None for an unknown badge."""
    allowed = {"name", "description", "media", "active"}
    assert set(changes) <= allowed
    assignments = ", ".join(f"{column} = :{column}" for column in changes) or "id = id"
    result = await conn.execute(
        text(f"UPDATE badge SET {assignments} WHERE id = :id RETURNING {BADGE_COLUMNS}").bindparams(
            *([bindparam("media", type_=JSONB)] if "media" in changes else [])
        ),
        {**changes, "id": badge_id},
    )
    return result.one_or_none()


async def insert_rule(
    conn: AsyncConnection,
    *,
    badge_id: uuid.UUID,
    key: str,
    rule_type: str,
    criteria: dict[str, Any],
    scope_key: str,
    awards_from: datetime | None,
) -> Row[Any] | None:
    """The new rule, or None when the key is taken."""
    result = await conn.execute(
        text(
            "INSERT INTO badge_rule (key, badge_id, type, criteria, scope_key, awards_from)"
            " VALUES (:key, :badge, :type, :criteria, :scope, :awards_from)"
            f" ON CONFLICT (key) DO NOTHING RETURNING {RULE_COLUMNS}"
        ).bindparams(bindparam("criteria", type_=JSONB)),
        {
            "key": key,
            "badge": badge_id,
            "type": rule_type,
            "criteria": criteria,
            "scope": scope_key,
            "awards_from": awards_from,
        },
    )
    return result.one_or_none()


async def set_rule_active(
    conn: AsyncConnection, rule_id: uuid.UUID, active: bool
) -> Row[Any] | None:
    result = await conn.execute(
        text(f"UPDATE badge_rule SET active = :active WHERE id = :id RETURNING {RULE_COLUMNS}"),
        {"id": rule_id, "active": active},
    )
    return result.one_or_none()
