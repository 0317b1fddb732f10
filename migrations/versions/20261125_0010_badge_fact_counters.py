"""Counters the badge rules read, kept per learner, day and task instead of counted from
attempts or task states on every solving attempt.

``user_daily_activity.solved_tasks``: distinct tasks solved on that local day (daily goals).
``user_task_state.fastest_one_try_ms``: the task's fastest solve made in one try.
``user_totals``: per learner, tasks ever solved and each one-try-solved task's fastest time,
sorted (totals and speed rules read one row).
All are maintained by the attempt path and recomputed from attempts by ``learntrack
recompute``; here they are filled from the attempts already recorded.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "user_daily_activity",
        sa.Column("solved_tasks", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("user_task_state", sa.Column("fastest_one_try_ms", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE user_daily_activity d SET solved_tasks = a.n"
        " FROM (SELECT user_id, local_day, count(DISTINCT task_id) AS n FROM user_task_attempt"
        " WHERE solved GROUP BY user_id, local_day) a"
        " WHERE a.user_id = d.user_id AND a.local_day = d.day"
    )
    op.execute(
        "UPDATE user_task_state s SET fastest_one_try_ms = a.ms"
        " FROM (SELECT user_id, task_id, min(time_spent_ms) AS ms FROM user_task_attempt"
        " WHERE solved AND tries = 1 GROUP BY user_id, task_id) a"
        " WHERE a.user_id = s.user_id AND a.task_id = s.task_id"
    )
    op.drop_constraint(
        op.f("ck_user_daily_activity_counters"), "user_daily_activity", type_="check"
    )
    op.create_check_constraint(
        "counters",
        "user_daily_activity",
        "attempts >= 0 AND solved >= 0 AND time_spent_ms >= 0"
        " AND solved_tasks BETWEEN 0 AND solved",
    )
    op.create_table(
        "user_totals",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("solved_tasks", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "one_try_ms",
            postgresql.ARRAY(sa.Integer()),
            server_default=sa.text("'{}'::int[]"),
            nullable=False,
        ),
        sa.CheckConstraint("solved_tasks >= 0", name=op.f("ck_user_totals_counters")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_totals_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_totals")),
    )
    op.execute(
        "INSERT INTO user_totals (user_id, solved_tasks, one_try_ms)"
        " SELECT user_id, count(*) FILTER (WHERE solved),"
        " coalesce(array_agg(one_try ORDER BY one_try) FILTER (WHERE one_try IS NOT NULL), '{}')"
        " FROM (SELECT user_id, task_id, bool_or(solved) AS solved,"
        " min(time_spent_ms) FILTER (WHERE solved AND tries = 1) AS one_try"
        " FROM user_task_attempt GROUP BY user_id, task_id) per_task"
        " GROUP BY user_id HAVING bool_or(solved)"
    )
    # Like every learner table: a change moves the learner's data version (ETags).
    op.execute(
        "CREATE CONSTRAINT TRIGGER user_totals_user_version"
        " AFTER INSERT OR UPDATE OR DELETE ON user_totals DEFERRABLE INITIALLY DEFERRED"
        " FOR EACH ROW EXECUTE FUNCTION learntrack_bump_user_version()"
    )
    op.execute(
        "CREATE TRIGGER user_totals_truncate_version AFTER TRUNCATE ON user_totals"
        " FOR EACH STATEMENT EXECUTE FUNCTION learntrack_bump_content_version()"
    )


def downgrade() -> None:
    op.drop_table("user_totals")
    op.drop_constraint(
        op.f("ck_user_daily_activity_counters"), "user_daily_activity", type_="check"
    )
    op.create_check_constraint(
        "counters", "user_daily_activity", "attempts >= 0 AND solved >= 0 AND time_spent_ms >= 0"
    )
    op.drop_column("user_task_state", "fastest_one_try_ms")
    op.drop_column("user_daily_activity", "solved_tasks")
