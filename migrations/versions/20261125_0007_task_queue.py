"""Task queue: per-course policy, one expired marker per task, reservations by lease token.

``course.queue_policy`` holds a course's overrides of the retry ladder and its review policy
(null = defaults; validated by domain.retry_policy before it is written). A task whose
retries ran out keeps one ``expired`` row per learner, and completing, extending or
releasing a reservation finds it by (user_id, lease_token).

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("course", sa.Column("queue_policy", postgresql.JSONB(), nullable=True))
    op.create_index(
        "uq_user_task_queue_expired_task",
        "user_task_queue",
        ["user_id", "task_id"],
        unique=True,
        postgresql_where=sa.text("state = 'expired'"),
    )
    op.create_index(
        op.f("ix_user_task_queue_user_id_lease_token"),
        "user_task_queue",
        ["user_id", "lease_token"],
        unique=False,
        postgresql_where=sa.text("lease_token IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_user_task_queue_user_id_lease_token"),
        table_name="user_task_queue",
        postgresql_where=sa.text("lease_token IS NOT NULL"),
    )
    op.drop_index(
        "uq_user_task_queue_expired_task",
        table_name="user_task_queue",
        postgresql_where=sa.text("state = 'expired'"),
    )
    op.drop_column("course", "queue_policy")
