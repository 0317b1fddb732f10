"""Attempts in receive order; award revocation kept for audit.

- ``user_task_attempt.received_seq``: the order the server recorded a learner's attempts
  in, items of one ``submitAttempts`` batch included (they share ``created_at``). A badge
  backfill replays attempts in this order, so it awards what incremental awarding did,
  with the same dates. Existing rows are numbered in (created_at, id) order, the order
  the backfill used before.
- ``user_badge.revoked_at``, ``revoked_by``, ``revoke_reason``: a revoked award stays in
  the table (who revoked it, when, why) and keeps its (user, badge, context) key taken, so
  no replay or backfill awards it again; every read of a learner's awards skips it.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE user_task_attempt_received_seq AS bigint")
    op.add_column("user_task_attempt", sa.Column("received_seq", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE user_task_attempt a SET received_seq = n.seq"
        " FROM (SELECT user_id, id, row_number() OVER (ORDER BY created_at, user_id, id) AS seq"
        " FROM user_task_attempt) n WHERE n.user_id = a.user_id AND n.id = a.id"
    )
    op.execute(
        "SELECT setval('user_task_attempt_received_seq',"
        " coalesce((SELECT max(received_seq) FROM user_task_attempt), 0) + 1, false)"
    )
    op.execute(
        "ALTER TABLE user_task_attempt ALTER COLUMN received_seq"
        " SET DEFAULT nextval('user_task_attempt_received_seq')"
    )
    op.alter_column("user_task_attempt", "received_seq", nullable=False)
    op.execute(
        "ALTER SEQUENCE user_task_attempt_received_seq OWNED BY user_task_attempt.received_seq"
    )

    op.add_column("user_badge", sa.Column("revoked_at", sa.DateTime(timezone=True)))
    op.add_column("user_badge", sa.Column("revoked_by", sa.UUID()))
    op.add_column("user_badge", sa.Column("revoke_reason", sa.Text()))
    op.create_check_constraint(
        op.f("ck_user_badge_revocation"),
        "user_badge",
        "(revoked_at IS NULL AND revoked_by IS NULL AND revoke_reason IS NULL)"
        " OR (revoked_at IS NOT NULL AND revoked_by IS NOT NULL AND revoke_reason IS NOT NULL)",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_user_badge_revocation"), "user_badge", type_="check")
    op.drop_column("user_badge", "revoke_reason")
    op.drop_column("user_badge", "revoked_by")
    op.drop_column("user_badge", "revoked_at")
    # Dropping the column drops the sequence it owns.
    op.drop_column("user_task_attempt", "received_seq")
