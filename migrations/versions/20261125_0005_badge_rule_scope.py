"""Badge rules are indexed by type and scope; awards by local day for daily goals.

``scope_key`` is the id of the section, theme or course a rule is about ('' for rules about
the learner as a whole), so an attempt fetches only the rules it can affect.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "badge_rule", sa.Column("scope_key", sa.Text(), server_default="", nullable=False)
    )
    op.drop_index("ix_badge_rule_type", table_name="badge_rule", postgresql_where=sa.text("active"))
    op.create_index(
        op.f("ix_badge_rule_type_scope_key"),
        "badge_rule",
        ["type", "scope_key"],
        unique=False,
        postgresql_where=sa.text("active"),
    )
    op.create_index(
        op.f("ix_user_task_attempt_user_id_local_day"),
        "user_task_attempt",
        ["user_id", "local_day"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_user_task_attempt_user_id_local_day"), table_name="user_task_attempt")
    op.drop_index(
        op.f("ix_badge_rule_type_scope_key"),
        table_name="badge_rule",
        postgresql_where=sa.text("active"),
    )
    op.create_index(
        "ix_badge_rule_type",
        "badge_rule",
        ["type"],
        unique=False,
        postgresql_where=sa.text("active"),
    )
    op.drop_column("badge_rule", "scope_key")
