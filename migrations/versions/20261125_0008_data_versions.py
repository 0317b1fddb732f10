"""Data versions for HTTP revalidation: one for all content, one per learner.

An ETag is derived from these numbers, read in one statement before a query runs, never
from the response: whatever a query could show has changed if and only if (or more often
than) a version it depends on has moved. Both kinds take their values from ONE sequence,
so a version never repeats, even after its row is deleted and made again (a learner
deleted and seen again, a truncated table), and an old ETag can never match a new state.

Content (course, section, theme, task, badge, badge_rule): a statement-level trigger on
every insert, update, delete and truncate sets ``content_version.version`` (one row) to the
next value, once per transaction. That row lock serialises content-writing transactions,
which are rare admin imports and edits; readers never wait for it. The transaction also
notes (a transaction-local setting) that content changed: every ETag carries the content
version, so the per-learner bumps below would add nothing in that transaction and are
skipped — a content edit that recounts the progress rows of 100,000 learners touches one
version row, not 100,000 (and two such edits cannot deadlock on learners' rows).

Per learner (``users.data_version``): every per-learner table (enrollments, attempts, task
state, section and course progress, daily activity, streak, badges, queue) has a row
trigger that bumps the learner's version, so no write path can forget it — the attempt
transaction, enrollments, reservations, awards in a backfill, recompute, and whatever comes
next. A change of a user's own row (time zone, handle) bumps it before the update.

Why these triggers are deferred (constraint triggers, INITIALLY DEFERRED): the bump takes
the user's row lock until commit. Taken at the first write, it would make two transactions
of one learner wait for each other for their whole length, and reservations promise never
to wait (domain/reservations.py). Deferred, the bump runs during commit, so the lock is held
only for the commit itself. Only the first event per transaction and learner does the
update; the others see the transaction-local note and return. Measured on the attempt
path (domain.attempts.record_attempt, one learner, 1,000 sequential attempts, embedded
PostgreSQL, ``track_functions``): 6.3 trigger calls and 40 µs of trigger time per attempt,
one UPDATE of the user row included — about 1% of a 3.5 ms attempt. Bumping explicitly in
``attempt_queries.lock_user`` (ON CONFLICT DO UPDATE) was within the noise of that on the
same run (1 client: 3.42 vs 3.43 ms median), yet every other writer (enrollments, reserves,
backfills, recompute, the next one) would have to remember it: the triggers win.

One bump per transaction suffices: the version and the data commit atomically, and a
reader reads versions before the data, so an answer is never older than the version in
its ETag (it can be newer, which costs one needless 200 later, never a stale 304).

Existing users start at 0 (a constant default adds the column without rewriting the table);
rows made later take the sequence's next value.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTENT_TABLES = ("course", "section", "theme", "task", "badge", "badge_rule")
LEARNER_TABLES = (
    "user_course_enrollment",
    "user_task_attempt",
    "user_task_state",
    "user_section_progress",
    "user_course_progress",
    "user_daily_activity",
    "user_streak",
    "user_badge",
    "user_task_queue",
)

FUNCTIONS = [
    """
CREATE FUNCTION learntrack_bump_content_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('learntrack.content_changed', true) IS DISTINCT FROM 'on' THEN
        INSERT INTO content_version (id, version)
        VALUES (true, nextval('learntrack_data_version'))
        ON CONFLICT (id) DO UPDATE SET version = excluded.version;
        PERFORM set_config('learntrack.content_changed', 'on', true);
    END IF;
    RETURN NULL;
END;
$$
""",
    """
CREATE FUNCTION learntrack_bump_user_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    learner uuid;
BEGIN
    IF current_setting('learntrack.content_changed', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        learner := OLD.user_id;
    ELSE
        learner := NEW.user_id;
    END IF;
    IF current_setting('learntrack.bumped_user', true) IS DISTINCT FROM learner::text THEN
        UPDATE users SET data_version = nextval('learntrack_data_version') WHERE id = learner;
        PERFORM set_config('learntrack.bumped_user', learner::text, true);
    END IF;
    RETURN NULL;
END;
$$
""",
    """
CREATE FUNCTION learntrack_bump_own_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.data_version := nextval('learntrack_data_version');
    RETURN NEW;
END;
$$
""",
]


def _triggers() -> list[str]:
    statements = []
    for table in CONTENT_TABLES:
        statements.append(
            f"CREATE TRIGGER {table}_content_version"
            f" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION learntrack_bump_content_version()"
        )
    for table in LEARNER_TABLES:
        statements.append(
            f"CREATE CONSTRAINT TRIGGER {table}_user_version"
            f" AFTER INSERT OR UPDATE OR DELETE ON {table}"
            " DEFERRABLE INITIALLY DEFERRED"
            " FOR EACH ROW EXECUTE FUNCTION learntrack_bump_user_version()"
        )
    for table in (*LEARNER_TABLES, "users"):
        # Row triggers do not see a TRUNCATE: invalidate every ETag instead.
        statements.append(
            f"CREATE TRIGGER {table}_truncate_version AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION learntrack_bump_content_version()"
        )
    statements.append(
        "CREATE TRIGGER users_own_version BEFORE UPDATE ON users FOR EACH ROW"
        " WHEN (OLD.data_version = NEW.data_version AND OLD.* IS DISTINCT FROM NEW.*)"
        " EXECUTE FUNCTION learntrack_bump_own_version()"
    )
    return statements


def upgrade() -> None:
    op.execute("CREATE SEQUENCE learntrack_data_version")
    op.create_table(
        "content_version",
        sa.Column("id", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id", name=op.f("ck_content_version_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_version")),
    )
    op.execute(
        "INSERT INTO content_version (id, version) VALUES (true, nextval('learntrack_data_version'))"
    )
    op.add_column(
        "users",
        sa.Column("data_version", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.alter_column(
        "users", "data_version", server_default=sa.text("nextval('learntrack_data_version')")
    )
    for statement in FUNCTIONS + _triggers():
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER users_own_version ON users")
    for table in (*LEARNER_TABLES, "users"):
        op.execute(f"DROP TRIGGER {table}_truncate_version ON {table}")
    for table in LEARNER_TABLES:
        op.execute(f"DROP TRIGGER {table}_user_version ON {table}")
    for table in CONTENT_TABLES:
        op.execute(f"DROP TRIGGER {table}_content_version ON {table}")
    op.execute("DROP FUNCTION learntrack_bump_own_version()")
    op.execute("DROP FUNCTION learntrack_bump_user_version()")
    op.execute("DROP FUNCTION learntrack_bump_content_version()")
    op.drop_column("users", "data_version")
    op.drop_table("content_version")
    op.execute("DROP SEQUENCE learntrack_data_version")
