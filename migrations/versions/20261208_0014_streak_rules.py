"""Streaks: counted local days, grace period, day start, freezes.

``user_daily_activity.streak_solved``: solving attempts that reached the server within the
grace period after their ``occurredAt``; only days with one are streak days (filled with
``solved``: every attempt recorded so far counted).
``user_streak``: ``freezes`` held, ``frozen_days`` (missed days a freeze covered) and
``last_grant_day`` (the latest day a freeze was granted on: an attempt on an earlier day
makes the attempt path rebuild the streak instead of extending it).
``user_timezone_history``: from ``effective_from`` on, the learner's local days are in
``timezone`` and never before ``floor_day`` (the last day counted under the zone before);
a learner with no rows uses ``users.timezone`` throughout.
``user_streak_freeze_grant``: freezes granted by an admin, facts a recompute folds in.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TABLES = ("user_timezone_history", "user_streak_freeze_grant")


def upgrade() -> None:
    op.add_column(
        "user_daily_activity",
        sa.Column("streak_solved", sa.Integer(), server_default="0", nullable=False),
    )
    op.execute("UPDATE user_daily_activity SET streak_solved = solved")
    op.drop_constraint(
        op.f("ck_user_daily_activity_counters"), "user_daily_activity", type_="check"
    )
    op.create_check_constraint(
        "counters",
        "user_daily_activity",
        "attempts >= 0 AND solved >= 0 AND time_spent_ms >= 0"
        " AND solved_tasks BETWEEN 0 AND solved AND streak_solved BETWEEN 0 AND solved",
    )
    op.add_column(
        "user_streak", sa.Column("freezes", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "user_streak",
        sa.Column(
            "frozen_days",
            postgresql.ARRAY(sa.Date()),
            server_default=sa.text("'{}'::date[]"),
            nullable=False,
        ),
    )
    op.add_column("user_streak", sa.Column("last_grant_day", sa.Date(), nullable=True))
    op.create_check_constraint("freezes", "user_streak", "freezes >= 0")
    op.create_table(
        "user_timezone_history",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("floor_day", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_timezone_history_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "effective_from", name=op.f("pk_user_timezone_history")),
    )
    op.create_table(
        "user_streak_freeze_grant",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint("count > 0", name=op.f("ck_user_streak_freeze_grant_count")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_streak_freeze_grant_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "id", name=op.f("pk_user_streak_freeze_grant")),
    )
    # Like every learner table: a change moves the learner's data version (ETags).
    for table in NEW_TABLES:
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_user_version"
            f" AFTER INSERT OR UPDATE OR DELETE ON {table} DEFERRABLE INITIALLY DEFERRED"
            " FOR EACH ROW EXECUTE FUNCTION learntrack_bump_user_version()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_truncate_version AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION learntrack_bump_content_version()"
        )


def downgrade() -> None:
    for table in reversed(NEW_TABLES):
        op.drop_table(table)
    op.drop_constraint(op.f("ck_user_streak_freezes"), "user_streak", type_="check")
    op.drop_column("user_streak", "last_grant_day")
    op.drop_column("user_streak", "frozen_days")
    op.drop_column("user_streak", "freezes")
    op.drop_constraint(
        op.f("ck_user_daily_activity_counters"), "user_daily_activity", type_="check"
    )
    op.create_check_constraint(
        "counters",
        "user_daily_activity",
        "attempts >= 0 AND solved >= 0 AND time_spent_ms >= 0"
        " AND solved_tasks BETWEEN 0 AND solved",
    )
    op.drop_column("user_daily_activity", "streak_solved")
