"""A per-learner cache of theme counts for the badge rules, valid for one content version.

A composition that names a theme (``perfect_theme``, ``theme_completed``) reads that theme's
counts on every solving attempt, wherever the attempt is: counting them from the task states
reads every task of the theme. The counts change only when the learner attempts a task of
that theme (which recounts and stores them) or when content changes (which moves the content
version the rows are stored under), so the badge step keeps the last counts per (learner,
theme) and recounts only a row of another version or the attempt's own theme.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_theme_counts",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("theme_id", sa.UUID(), nullable=False),
        sa.Column("content_version", sa.BigInteger(), nullable=False),
        sa.Column("solved", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("first_try", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_theme_counts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["theme.id"],
            name=op.f("fk_user_theme_counts_theme_id_theme"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "theme_id", name=op.f("pk_user_theme_counts")),
    )
    op.create_index(
        op.f("ix_user_theme_counts_theme_id"), "user_theme_counts", ["theme_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_user_theme_counts_theme_id"), table_name="user_theme_counts")
    op.drop_table("user_theme_counts")
