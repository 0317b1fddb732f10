"""Attempts keep the learner's local day and the outcome returned to the client.

The local day (in the learner's time zone when the attempt was recorded) makes the daily
activity a pure function of the attempts; the outcome lets a replay return exactly what the
first submission returned.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("user_task_attempt", sa.Column("local_day", sa.Date(), nullable=False))
    op.add_column(
        "user_task_attempt",
        sa.Column("outcome", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("user_task_attempt", "outcome")
    op.drop_column("user_task_attempt", "local_day")
