"""Revoking an award (admin): the award leaves the learner's badges, and stays on record.

A revoked award keeps its row in user_badge, with who revoked it, when and why, and so its
(learner, badge, context) key stays taken: no replay of the attempt that earned it, no
backfill and no later qualifying attempt awards that badge in that context again (the
attempt path and the backfill both skip held awards, revoked ones included). Revocation is
final for that context; a per-node badge (a section's, a course's) can still be earned for
other nodes.

Revoking takes the learner's attempt lock, so it runs between two of their attempts, never
inside one.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from db import badge_queries as q
from domain.errors import AwardRevocationRefused

MAX_REASON_LENGTH = 500


@dataclass(frozen=True, slots=True)
class Revocation:
    user_id: uuid.UUID
    badge_id: uuid.UUID
    context_key: str
    context: dict[str, Any]
    awarded_at: datetime
    revoked_at: datetime
    revoked_by: uuid.UUID
    reason: str

    @classmethod
    def from_row(cls, row: Any) -> "Revocation":
        return cls(
            row.user_id,
            row.badge_id,
            row.context_key,
            row.context,
            row.awarded_at,
            row.revoked_at,
            row.revoked_by,
            row.revoke_reason,
        )


def check_reason(reason: str) -> str:
    """The reason without surrounding white space; INVALID_REASON if that is empty, longer
    than MAX_REASON_LENGTH characters, or holds a control character."""
    cleaned = reason.strip()
    if not cleaned:
        raise AwardRevocationRefused("INVALID_REASON", "a reason is required")
    if len(cleaned) > MAX_REASON_LENGTH:
        raise AwardRevocationRefused(
            "INVALID_REASON", f"the reason is longer than {MAX_REASON_LENGTH} characters"
        )
    if any(ord(c) < 32 and c not in "\t\n" for c in cleaned) or "\x7f" in cleaned:
        raise AwardRevocationRefused("INVALID_REASON", "the reason holds a control character")
    return cleaned


async def revoke_award(
    conn: AsyncConnection,
    *,
    user_id: uuid.UUID,
    badge_id: uuid.UUID,
    context_key: str,
    revoked_by: uuid.UUID,
    reason: str,
    now: datetime,
) -> Revocation:
    """Revoke the learner's award; AwardRevocationRefused (nothing written) for a bad
    reason, an unknown award (NOT_FOUND) or one already revoked (ALREADY_REVOKED)."""
    cleaned = check_reason(reason)
    await q.lock_user(conn, user_id)
    row = await q.revoke_award(
        conn,
        user_id=user_id,
        badge_id=badge_id,
        context_key=context_key,
        revoked_by=revoked_by,
        reason=cleaned,
        now=now,
    )
    if row is not None:
        return Revocation.from_row(row)
    if await q.get_award(conn, user_id, badge_id, context_key) is None:
        raise AwardRevocationRefused("NOT_FOUND", "there is no such award")
    raise AwardRevocationRefused("ALREADY_REVOKED", "the award is already revoked")
