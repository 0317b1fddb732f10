"""Creating and changing badges and their rules (admin), with the same validation as imports.

Criteria may name content by key (``sectionKey``); on save the key is resolved to the id
(``sectionId``) so a rule keeps pointing at the same node when keys or titles change.
"""

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from db import badge_admin_queries as q
from domain import badge_rules
from domain.errors import BadgeNotFound, InvalidBadgeRule, Problem

REFERENCES = {
    "sectionKey": ("section", "sectionId"),
    "themeKey": ("theme", "themeId"),
    "courseKey": ("course", "courseId"),
}


@dataclass(frozen=True, slots=True)
class BadgeRecord:
    id: uuid.UUID
    key: str
    name: str
    description: str
    media: dict[str, Any]
    active: bool

    @classmethod
    def from_row(cls, row: Any) -> "BadgeRecord":
        return cls(row.id, row.key, row.name, row.description, row.media, row.active)


@dataclass(frozen=True, slots=True)
class RuleRecord:
    id: uuid.UUID
    key: str
    badge_id: uuid.UUID
    type: str
    criteria: dict[str, Any]
    active: bool

    @classmethod
    def from_row(cls, row: Any) -> "RuleRecord":
        return cls(row.id, row.key, row.badge_id, row.type, row.criteria, row.active)


def _unstorable(value: Any, path: str) -> list[Problem]:
    """Where ``value`` holds what PostgreSQL cannot store: the NUL character (text and
    jsonb) or a NaN or infinite number (jsonb)."""
    if isinstance(value, str) and "\x00" in value:
        return [Problem(path, "the NUL character cannot be stored")]
    if isinstance(value, float) and not math.isfinite(value):
        return [Problem(path, "NaN and infinity cannot be stored")]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _unstorable(item, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [
            p
            for name, item in value.items()
            for p in _unstorable(name, path) + _unstorable(item, f"{path}.{name}")
        ]
    return []


def _require_storable(**fields: Any) -> None:
    """InvalidBadgeRule naming each field PostgreSQL would refuse, before any statement
    carries it (the refusal would otherwise be a database error)."""
    problems = [p for name, value in fields.items() for p in _unstorable(value, name)]
    if problems:
        raise InvalidBadgeRule(problems)


async def resolve_criteria(
    conn: AsyncConnection, rule_type: str, criteria: Any, *, path: str = ""
) -> tuple[dict[str, Any], str]:
    """Validated criteria with content keys replaced by ids, and the rule's scope key.

    Raises InvalidBadgeRule naming the JSON path of every bad field; writes nothing.
    """
    _, problems = badge_rules.validate(rule_type, criteria, path=path)
    if problems:
        raise InvalidBadgeRule(problems)
    resolved, problems = await _resolve_keys(conn, criteria, f"{path}criteria")
    if problems:
        raise InvalidBadgeRule(problems)
    parsed, problems = badge_rules.validate(rule_type, resolved, path=path)
    if parsed is None:
        raise InvalidBadgeRule(problems)
    return resolved, badge_rules.scope_key(rule_type, parsed)


async def _resolve_keys(conn: AsyncConnection, node: Any, path: str) -> tuple[Any, list[Problem]]:
    if isinstance(node, list):
        items: list[Any] = []
        item_problems: list[Problem] = []
        for index, item in enumerate(node):
            value, found = await _resolve_keys(conn, item, f"{path}[{index}]")
            items.append(value)
            item_problems += found
        return items, item_problems
    if not isinstance(node, dict):
        return node, []
    resolved: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, value in node.items():
        if name in REFERENCES and isinstance(value, str):
            table, id_name = REFERENCES[name]
            found_id = await q.id_by_key(conn, table, value)
            if found_id is None:
                problems.append(Problem(f"{path}.{name}", f"there is no {table} '{value}'"))
            else:
                resolved[id_name] = str(found_id)
            continue
        resolved[name], found = await _resolve_keys(conn, value, f"{path}.{name}")
        problems += found
    return resolved, problems


async def create_badge(
    conn: AsyncConnection,
    *,
    key: str,
    name: str,
    description: str,
    media: Any,
) -> BadgeRecord:
    """A new, active badge; InvalidBadgeRule if the key is taken or media is not an object."""
    if not isinstance(media, dict):
        raise InvalidBadgeRule([Problem("media", "must be a JSON object")])
    _require_storable(key=key, name=name, description=description, media=media)
    row = await q.insert_badge(conn, key=key, name=name, description=description, media=media)
    if row is None:
        raise InvalidBadgeRule([Problem("key", f"a badge with key '{key}' exists")])
    return BadgeRecord.from_row(row)


async def update_badge(
    conn: AsyncConnection, *, badge_id: uuid.UUID, changes: dict[str, Any]
) -> BadgeRecord:
    """Change name, description, media or active; BadgeNotFound for an unknown id,
    InvalidBadgeRule for a value PostgreSQL cannot store."""
    _require_storable(**changes)
    row = await q.update_badge(conn, badge_id, changes)
    if row is None:
        raise BadgeNotFound("there is no such badge")
    return BadgeRecord.from_row(row)


async def create_rule(
    conn: AsyncConnection,
    *,
    badge_id: uuid.UUID,
    key: str,
    rule_type: str,
    criteria: Any,
    awards_from: datetime | None,
) -> RuleRecord:
    """A new, active rule for the badge; criteria validated and keys resolved first. It
    owes awards for what learners earn from ``awards_from`` (its creation, for a rule added
    without a backfill; None: from the start)."""
    if not await q.badge_exists(conn, badge_id):
        raise BadgeNotFound("there is no such badge")
    _require_storable(key=key, type=rule_type, criteria=criteria)
    resolved, scope = await resolve_criteria(conn, rule_type, criteria)
    row = await q.insert_rule(
        conn,
        badge_id=badge_id,
        key=key,
        rule_type=rule_type,
        criteria=resolved,
        scope_key=scope,
        awards_from=awards_from,
    )
    if row is None:
        raise InvalidBadgeRule([Problem("key", f"a rule with key '{key}' exists")])
    return RuleRecord.from_row(row)


async def set_rule_active(conn: AsyncConnection, *, rule_id: uuid.UUID, active: bool) -> RuleRecord:
    """Activate or deactivate a rule; BadgeNotFound for an unknown rule id."""
    row = await q.set_rule_active(conn, rule_id, active)
    if row is None:
        raise BadgeNotFound("there is no such badge rule")
    return RuleRecord.from_row(row)
