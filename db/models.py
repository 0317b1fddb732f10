"""Table definitions: the one picture of the schema that Alembic compares against.

Content tables (course, section, theme, task, badge, badge_rule) are small and shared by
everyone; they would be reference tables under Citus. Every per-user table leads its
primary key with ``user_id`` so it can be distributed by user.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TASK_TYPES = ("single_choice", "multiple_choice", "text", "numeric", "code", "ordering")
ENROLLMENT_STATUSES = ("active", "paused", "completed")
COMPLETION_POLICIES = ("live", "sticky")
TASK_STATUSES = ("new", "in_progress", "solved")
ATTEMPT_SOURCES = ("web", "mobile", "api", "import")
GRADINGS = ("client", "server")
QUEUE_STATES = ("queued", "reserved", "done", "expired")
QUEUE_REASONS = ("retry", "new", "review")
BADGE_RULE_TYPES = (
    "section_completed",
    "course_completed",
    "theme_completed",
    "streak",
    "daily_goal",
    "solved_total",
    "speed",
    "perfect_theme",
    "count_in_window",
    "all_of",
    "any_of",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID, primary_key=True, server_default=func.gen_random_uuid())


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


# --- content ----------------------------------------------------------------------------


class Course(Base):
    __tablename__ = "course"
    __table_args__ = (
        CheckConstraint("total_tasks_cached >= 0", name="total_tasks"),
        CheckConstraint(_in("completion", COMPLETION_POLICIES), name="completion"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    key: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    order_index: Mapped[int] = mapped_column(Integer, server_default="0")
    total_tasks_cached: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = _created_at()
    # False once retired by an import: hidden from the tree, kept for history.
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # live: completed exactly while every active task is solved; sticky: once completed,
    # stays completed (migration 0013).
    completion: Mapped[str] = mapped_column(Text, server_default="live")
    # Task-queue overrides (retry ladder, review policy), validated by domain.retry_policy;
    # null means the defaults.
    queue_policy: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class Section(Base):
    __tablename__ = "section"
    __table_args__ = (
        CheckConstraint("total_tasks_cached >= 0", name="total_tasks"),
        Index(None, "course_id", "order_index", "id"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    key: Mapped[str] = mapped_column(Text, unique=True)
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(Text)
    order_index: Mapped[int] = mapped_column(Integer, server_default="0")
    total_tasks_cached: Mapped[int] = mapped_column(Integer, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class Theme(Base):
    __tablename__ = "theme"
    __table_args__ = (Index(None, "section_id", "order_index", "id"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    key: Mapped[str] = mapped_column(Text, unique=True)
    section_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("section.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(Text)
    order_index: Mapped[int] = mapped_column(Integer, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class Task(Base):
    __tablename__ = "task"
    __table_args__ = (
        CheckConstraint(_in("type", TASK_TYPES), name="type"),
        CheckConstraint("difficulty BETWEEN 1 AND 5", name="difficulty"),
        CheckConstraint(_in("grading", GRADINGS), name="grading"),
        CheckConstraint("reveal_after_failures >= 1", name="reveal_after_failures"),
        Index(None, "theme_id", "order_index", "id"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    key: Mapped[str] = mapped_column(Text, unique=True)
    theme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("theme.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    content: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    difficulty: Mapped[int | None] = mapped_column(SmallInteger)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    order_index: Mapped[int] = mapped_column(Integer, server_default="0")
    # Who decides whether an attempt solved it: the client, or the server from the answer.
    grading: Mapped[str] = mapped_column(Text, server_default="client")
    # The learner sees the key once solved, or after this many failures (null: only solved).
    reveal_after_failures: Mapped[int | None] = mapped_column(Integer)


class TaskKeyHistory(Base):
    """Each task's type and content from the moment a content import made them current: an
    attempt made offline is graded by the key that was valid when it happened."""

    __tablename__ = "task_key_history"

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("task.id", ondelete="CASCADE"), primary_key=True
    )
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    type: Mapped[str] = mapped_column(Text)
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)


class Badge(Base):
    __tablename__ = "badge"

    id: Mapped[uuid.UUID] = _uuid_pk()
    key: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    media: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = _created_at()


class BadgeRule(Base):
    __tablename__ = "badge_rule"
    __table_args__ = (
        CheckConstraint(_in("type", BADGE_RULE_TYPES), name="type"),
        Index(None, "type", "scope_key", postgresql_where=text("active")),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    key: Mapped[str] = mapped_column(Text, unique=True)
    badge_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("badge.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(Text)
    criteria: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    # The section/theme/course id the rule is about, '' when it is about the learner overall.
    scope_key: Mapped[str] = mapped_column(Text, server_default="")
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = _created_at()
    # The rule owes awards for what learners earn from this moment (its creation without a
    # backfill); null once a backfill covered everyone: it owes everything.
    awards_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ContentVersion(Base):
    """One row: moves whenever any content table changes (triggers, migration 0008)."""

    __tablename__ = "content_version"
    __table_args__ = (CheckConstraint("id", name="one_row"),)

    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    version: Mapped[int] = mapped_column(BigInteger)


# --- users ------------------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    handle: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text, server_default="UTC")
    created_at: Mapped[datetime] = _created_at()
    # Moves whenever anything of this learner's changes (triggers, migration 0008); ETags
    # are derived from it. Values come from one sequence, so they never repeat.
    data_version: Mapped[int] = mapped_column(
        BigInteger, server_default=text("nextval('learntrack_data_version')")
    )


class UserCourseEnrollment(Base):
    __tablename__ = "user_course_enrollment"
    __table_args__ = (CheckConstraint(_in("status", ENROLLMENT_STATUSES), name="status"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("course.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    status: Mapped[str] = mapped_column(Text, server_default="active")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UserTaskAttempt(Base):
    """Append-only facts; ``id`` is the client's idempotency key, unique per user."""

    __tablename__ = "user_task_attempt"
    __table_args__ = (
        CheckConstraint("tries >= 1", name="tries"),
        CheckConstraint("time_spent_ms >= 0", name="time_spent"),
        CheckConstraint(_in("source", ATTEMPT_SOURCES), name="source"),
        CheckConstraint(_in("graded_by", GRADINGS), name="graded_by"),
        Index(None, "user_id", "occurred_at", "id"),
        Index(None, "user_id", "task_id", "occurred_at"),
        Index(None, "user_id", "local_day"),
        Index(None, "task_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    # No foreign key: the fact outlives its task, so deleting a task keeps the learner's
    # daily activity, streak and badges, and the attempt id stays taken for replays.
    task_id: Mapped[uuid.UUID] = mapped_column(UUID)
    theme_id: Mapped[uuid.UUID] = mapped_column(UUID)
    section_id: Mapped[uuid.UUID] = mapped_column(UUID)
    course_id: Mapped[uuid.UUID] = mapped_column(UUID)
    tries: Mapped[int] = mapped_column(Integer)
    time_spent_ms: Mapped[int] = mapped_column(Integer)
    solved: Mapped[bool] = mapped_column(Boolean)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The learner's answer as sent (server grading reads it; the client may send one too).
    answer: Mapped[Any | None] = mapped_column(JSONB, nullable=True)
    # Who decided ``solved``: the server from ``answer``, or the client.
    graded_by: Mapped[str] = mapped_column(Text, server_default="client")
    source: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    local_day: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fingerprint: Mapped[str] = mapped_column(Text)
    # What the first submission returned; a replay returns it again. Null only inside the
    # recording transaction.
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The order the server recorded the learner's attempts in (under the user lock), batch
    # items included: the order a badge backfill replays.
    received_seq: Mapped[int] = mapped_column(
        BigInteger, server_default=text("nextval('user_task_attempt_received_seq')")
    )


class UserTaskState(Base):
    __tablename__ = "user_task_state"
    __table_args__ = (
        CheckConstraint(_in("status", TASK_STATUSES), name="status"),
        CheckConstraint(
            "success_count >= 0 AND failure_count >= 0 AND total_tries >= 0"
            " AND total_time_ms >= 0 AND average_time_ms >= 0",
            name="counters",
        ),
        Index(None, "task_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("task.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(Text, server_default="new")
    success_count: Mapped[int] = mapped_column(Integer, server_default="0")
    failure_count: Mapped[int] = mapped_column(Integer, server_default="0")
    total_tries: Mapped[int] = mapped_column(Integer, server_default="0")
    total_time_ms: Mapped[int] = mapped_column(BigInteger, server_default="0")
    average_time_ms: Mapped[int] = mapped_column(Integer, server_default="0")
    first_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    solved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The fastest solving attempt made in one try, in ms (speed badges).
    fastest_one_try_ms: Mapped[int | None] = mapped_column(Integer)
    next_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    queue_priority: Mapped[int] = mapped_column(Integer, server_default="0")


def _progress_checks() -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint("percent_complete BETWEEN 0 AND 100", name="percent"),
        CheckConstraint(
            "solved_tasks >= 0 AND total_tasks >= 0 AND total_time_ms >= 0"
            " AND average_time_ms >= 0",
            name="counters",
        ),
    )


class UserSectionProgress(Base):
    __tablename__ = "user_section_progress"
    __table_args__ = (*_progress_checks(), Index(None, "section_id"))

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    section_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("section.id", ondelete="CASCADE"), primary_key=True
    )
    course_id: Mapped[uuid.UUID] = mapped_column(UUID)
    solved_tasks: Mapped[int] = mapped_column(Integer, server_default="0")
    total_tasks: Mapped[int] = mapped_column(Integer, server_default="0")
    percent_complete: Mapped[Decimal] = mapped_column(Numeric(5, 2), server_default="0")
    attempts_count: Mapped[int] = mapped_column(Integer, server_default="0")
    total_time_ms: Mapped[int] = mapped_column(BigInteger, server_default="0")
    average_time_ms: Mapped[int] = mapped_column(Integer, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UserCourseProgress(Base):
    __tablename__ = "user_course_progress"
    __table_args__ = (*_progress_checks(), Index(None, "course_id"))

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("course.id", ondelete="CASCADE"), primary_key=True
    )
    solved_tasks: Mapped[int] = mapped_column(Integer, server_default="0")
    total_tasks: Mapped[int] = mapped_column(Integer, server_default="0")
    percent_complete: Mapped[Decimal] = mapped_column(Numeric(5, 2), server_default="0")
    attempts_count: Mapped[int] = mapped_column(Integer, server_default="0")
    total_time_ms: Mapped[int] = mapped_column(BigInteger, server_default="0")
    average_time_ms: Mapped[int] = mapped_column(Integer, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UserDailyActivity(Base):
    """One row per user and LOCAL calendar day (the user's timezone at the time)."""

    __tablename__ = "user_daily_activity"
    __table_args__ = (
        CheckConstraint(
            "attempts >= 0 AND solved >= 0 AND time_spent_ms >= 0"
            " AND solved_tasks BETWEEN 0 AND solved AND streak_solved BETWEEN 0 AND solved",
            name="counters",
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    solved: Mapped[int] = mapped_column(Integer, server_default="0")  # solving attempts
    solved_tasks: Mapped[int] = mapped_column(Integer, server_default="0")  # distinct tasks
    time_spent_ms: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # Solving attempts received within the streak grace period: only they make a streak day.
    streak_solved: Mapped[int] = mapped_column(Integer, server_default="0")


class UserStreak(Base):
    """The fold of the learner's streak days and freeze grants (domain/streaks.py)."""

    __tablename__ = "user_streak"
    __table_args__ = (
        CheckConstraint("current >= 0 AND longest >= current", name="lengths"),
        CheckConstraint("freezes >= 0", name="freezes"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    current: Mapped[int] = mapped_column(Integer, server_default="0")
    longest: Mapped[int] = mapped_column(Integer, server_default="0")
    last_active_day: Mapped[date | None] = mapped_column(Date)
    freezes: Mapped[int] = mapped_column(Integer, server_default="0")  # held
    frozen_days: Mapped[list[date]] = mapped_column(
        ARRAY(Date), server_default=text("'{}'::date[]")
    )
    # The latest local day a freeze was granted on; an attempt before it rebuilds the fold.
    last_grant_day: Mapped[date | None] = mapped_column(Date)


class UserTimezoneHistory(Base):
    """From ``effective_from`` on, local days are in ``timezone`` and never before
    ``floor_day``. A change takes effect when the next local day starts in the zone in use;
    a learner without rows uses ``users.timezone`` for every attempt (migration 0014)."""

    __tablename__ = "user_timezone_history"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    effective_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    timezone: Mapped[str] = mapped_column(Text)
    floor_day: Mapped[date | None] = mapped_column(Date)


class UserStreakFreezeGrant(Base):
    """Streak freezes an admin granted: facts, folded in on the local day of the grant."""

    __tablename__ = "user_streak_freeze_grant"
    __table_args__ = (CheckConstraint("count > 0", name="count"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[uuid.UUID] = _uuid_pk()
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    day: Mapped[date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)


class UserTotals(Base):
    """Per-learner totals the badge rules read in O(1): one narrow row instead of the
    learner's task states, which lie on as many pages as the learner has tasks."""

    __tablename__ = "user_totals"
    __table_args__ = (CheckConstraint("solved_tasks >= 0", name="counters"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    solved_tasks: Mapped[int] = mapped_column(Integer, server_default="0")  # ever solved
    # Per task ever solved in one try, its fastest such solve (ms), ascending.
    one_try_ms: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), server_default=text("'{}'::int[]")
    )


class UserThemeCounts(Base):
    """The badge step's cache of one learner's counts in one theme, valid while the content
    version is ``content_version`` and recounted by every attempt in the theme (see
    migration 0011). Not learner data: dropping any row only costs a recount."""

    __tablename__ = "user_theme_counts"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    theme_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("theme.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    content_version: Mapped[int] = mapped_column(BigInteger)
    solved: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)  # active tasks
    first_try: Mapped[int] = mapped_column(Integer)


class UserBadge(Base):
    """Exactly one award per (user, badge, context); context_key is '' or the scope id."""

    __tablename__ = "user_badge"
    __table_args__ = (
        ForeignKeyConstraint(
            ["user_id", "attempt_id"],
            ["user_task_attempt.user_id", "user_task_attempt.id"],
            ondelete="CASCADE",
        ),
        Index(None, "user_id", "awarded_at", "badge_id", "context_key"),
        Index(None, "badge_id"),
        CheckConstraint(
            "(revoked_at IS NULL AND revoked_by IS NULL AND revoke_reason IS NULL)"
            " OR (revoked_at IS NOT NULL AND revoked_by IS NOT NULL"
            " AND revoke_reason IS NOT NULL)",
            name="revocation",
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    badge_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("badge.id", ondelete="CASCADE"), primary_key=True
    )
    context_key: Mapped[str] = mapped_column(Text, primary_key=True, server_default="")
    context: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    rule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("badge_rule.id", ondelete="SET NULL")
    )
    attempt_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    awarded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retroactive: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = _created_at()
    # A revoked award stays (for audit, and so that no replay or backfill awards it again);
    # every read of the learner's awards skips it.
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(UUID)
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class UserTaskQueue(Base):
    """Explicit queue rows only for reservations and retries, not one per task per user."""

    __tablename__ = "user_task_queue"
    __table_args__ = (
        CheckConstraint(_in("state", QUEUE_STATES), name="state"),
        CheckConstraint(_in("reason", QUEUE_REASONS), name="reason"),
        CheckConstraint("deliveries >= 0", name="deliveries"),
        CheckConstraint(
            "state <> 'reserved'"
            " OR (visibility_timeout_at IS NOT NULL AND lease_token IS NOT NULL)",
            name="reservation",
        ),
        Index(
            "uq_user_task_queue_open_task",
            "user_id",
            "task_id",
            unique=True,
            postgresql_where=text("state IN ('queued', 'reserved')"),
        ),
        Index(
            None,
            "user_id",
            "course_id",
            "due_at",
            postgresql_where=text("state IN ('queued', 'reserved')"),
        ),
        Index(None, "task_id"),
        # At most one marker per task whose retries ran out (served only on explicit request).
        Index(
            "uq_user_task_queue_expired_task",
            "user_id",
            "task_id",
            unique=True,
            postgresql_where=text("state = 'expired'"),
        ),
        # Completing, extending and releasing find a reservation by its lease token.
        Index(
            None,
            "user_id",
            "lease_token",
            postgresql_where=text("lease_token IS NOT NULL"),
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[uuid.UUID] = mapped_column(
        UUID, primary_key=True, server_default=func.gen_random_uuid()
    )
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(Text, server_default="queued")
    reason: Mapped[str] = mapped_column(Text, server_default="new")
    priority: Mapped[int] = mapped_column(Integer, server_default="0")
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deliveries: Mapped[int] = mapped_column(Integer, server_default="0")
    lease_token: Mapped[uuid.UUID | None] = mapped_column(UUID)
    enqueued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    dequeued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    visibility_timeout_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
