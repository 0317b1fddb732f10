"""Secret answers and server grading: how each task is graded, when its key is revealed to a
learner, the history of its keys (an offline attempt is graded by the key of its time), and
the answer and grader of each attempt.

Every existing task starts its history with its current content, valid since always, so a
later change of its key leaves attempts made before it graded by the old one.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GRADINGS = "('client', 'server')"


def upgrade() -> None:
    op.add_column("task", sa.Column("grading", sa.Text(), server_default="client", nullable=False))
    op.add_column("task", sa.Column("reveal_after_failures", sa.Integer(), nullable=True))
    op.create_check_constraint("grading", "task", f"grading IN {GRADINGS}")
    op.create_check_constraint("reveal_after_failures", "task", "reveal_after_failures >= 1")
    op.create_table(
        "task_key_history",
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id", "valid_from"),
    )
    op.execute(
        "INSERT INTO task_key_history (task_id, valid_from, type, content)"
        " SELECT id, '-infinity', type, content FROM task"
    )
    op.add_column(
        "user_task_attempt",
        sa.Column("answer", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column(
        "user_task_attempt",
        sa.Column("graded_by", sa.Text(), server_default="client", nullable=False),
    )
    op.create_check_constraint("graded_by", "user_task_attempt", f"graded_by IN {GRADINGS}")


def downgrade() -> None:
    op.drop_constraint("graded_by", "user_task_attempt", type_="check")
    op.drop_column("user_task_attempt", "graded_by")
    op.drop_column("user_task_attempt", "answer")
    op.drop_table("task_key_history")
    op.drop_constraint("reveal_after_failures", "task", type_="check")
    op.drop_constraint("grading", "task", type_="check")
    op.drop_column("task", "reveal_after_failures")
    op.drop_column("task", "grading")
