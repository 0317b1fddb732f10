"""Attempts outlive their task: no cascade from task to user_task_attempt.

Deleting a task used to delete the learners' attempts on it (and the badges they earned),
while their daily activity and streak still counted them: the derived tables no longer
matched a recompute, and a replayed attempt id could be recorded afresh. The attempt is an
append-only fact; only the per-task state and progress follow the content.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint(
        op.f("fk_user_task_attempt_task_id_task"), "user_task_attempt", type_="foreignkey"
    )


def downgrade() -> None:
    # The old constraint cannot hold attempts on deleted tasks; drop them as it would have.
    op.execute(
        "DELETE FROM user_task_attempt a"
        " WHERE NOT EXISTS (SELECT 1 FROM task t WHERE t.id = a.task_id)"
    )
    op.create_foreign_key(
        op.f("fk_user_task_attempt_task_id_task"),
        "user_task_attempt",
        "task",
        ["task_id"],
        ["id"],
        ondelete="CASCADE",
    )
