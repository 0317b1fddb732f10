"""Recording attempts exactly once and folding them into the learner's state (DESIGN §3).

One attempt = one transaction (the caller's): lock the user, replay or refuse a known id,
validate, insert the fact, then update task state, section and course progress, daily
activity and streak with SQL-side increments, and store the outcome for replays.
"""

import hashlib
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from db import attempt_queries as q
from db import raw
from domain import badge_awards, grading, outcomes, streaks, task_queue
from domain.badge_facts import Counts
from domain.errors import AttemptRejected
from domain.outcomes import AttemptOutcome, AttemptRecord, ProgressRecord, TaskStateRecord

SOURCES = ("web", "mobile", "api")
# The integers orjson reads and writes as integers; JSON text with a larger one parses to
# the nearest double (orjson, and every browser), so the request's variables never hold one.
MIN_JSON_INT, MAX_JSON_INT = -(2**63), 2**64 - 1


@dataclass(frozen=True, slots=True)
class AttemptInput:
    id: uuid.UUID
    task_id: uuid.UUID | None  # None: the client sent something that is not a task id
    tries: int
    time_spent_ms: int
    # The client's word; None when it left the verdict to the server (server grading).
    solved: bool | None
    occurred_at: datetime
    source: str
    payload: Any = None
    # The learner's answer (JSON); server grading decides ``solved`` from it.
    answer: Any = None
    # Completes this reservation (task queue); transport metadata, not part of the fingerprint.
    lease_token: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class AttemptPolicy:
    """Bounds on what a client may claim; time bounds are relative to the server's clock."""

    max_tries: int = 1000
    max_time_spent_ms: int = 24 * 60 * 60 * 1000
    clock_skew: timedelta = timedelta(minutes=5)
    max_age: timedelta = timedelta(days=30)
    max_payload_bytes: int = 16 * 1024
    streak: streaks.StreakPolicy = streaks.DEFAULT_POLICY


def fingerprint(attempt: AttemptInput) -> str:
    """A hash of the normalised input: equal for a replay, different for another payload."""
    normalised = {
        "task": str(attempt.task_id),
        "tries": attempt.tries,
        "timeSpentMs": attempt.time_spent_ms,
        "solved": attempt.solved,
        "occurredAt": _utc_text(attempt.occurred_at),
        "source": attempt.source,
        "payload": attempt.payload,
    }
    if attempt.answer is not None:
        # Only when sent: attempts recorded before answers existed keep their fingerprint.
        normalised["answer"] = attempt.answer
    return hashlib.sha256(orjson.dumps(normalised, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _utc_text(moment: datetime) -> str:
    try:
        return moment.astimezone(ZoneInfo("UTC")).isoformat()
    except OverflowError:
        # Year 1 or 9999 moved past the calendar by its offset: never a stored attempt's
        # (those are within the offline window), and validate() refuses it next.
        return moment.isoformat()


def as_json_numbers(attempt: AttemptInput) -> AttemptInput:
    """``attempt`` with its payload's numbers as parsed JSON holds them: an integer beyond
    64 bits becomes the nearest double. A literal in the document and the same text in the
    variables are then one value, with one fingerprint. Raises AttemptRejected for a number
    beyond the range of a double (JSON text with one is refused as a request)."""
    try:
        text = orjson.dumps(attempt.payload)
    except orjson.JSONEncodeError:
        return replace(attempt, payload=_json_numbers(attempt.payload))
    if b"null" in text:
        _json_numbers(attempt.payload)  # orjson writes a literal like 1e400 (inf) as null
    return attempt


def _json_numbers(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_numbers(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        if MIN_JSON_INT <= value <= MAX_JSON_INT:
            return value
        try:
            return float(value)
        except OverflowError:
            raise _beyond_double() from None
    if isinstance(value, float) and not math.isfinite(value):
        raise _beyond_double()
    return value


def _beyond_double() -> AttemptRejected:
    return AttemptRejected(
        "PAYLOAD_TOO_LARGE", "payload holds a number beyond the range of a double"
    )


def validate(attempt: AttemptInput, *, now: datetime, policy: AttemptPolicy) -> None:
    """Raise AttemptRejected for input no learner could have produced."""
    if not 1 <= attempt.tries <= policy.max_tries:
        raise AttemptRejected("INVALID_TRIES", f"tries must be 1 to {policy.max_tries}")
    if not 0 <= attempt.time_spent_ms <= policy.max_time_spent_ms:
        raise AttemptRejected(
            "INVALID_TIME_SPENT", f"timeSpentMs must be 0 to {policy.max_time_spent_ms}"
        )
    if attempt.occurred_at.tzinfo is None:
        raise AttemptRejected("INVALID_OCCURRED_AT", "occurredAt needs a time zone offset")
    if attempt.occurred_at > now + policy.clock_skew:
        raise AttemptRejected("OCCURRED_IN_FUTURE", "occurredAt is in the future")
    if attempt.occurred_at < now - policy.max_age:
        raise AttemptRejected(
            "OCCURRED_TOO_LONG_AGO",
            f"occurredAt is older than {policy.max_age.days} days; it can no longer be recorded",
        )
    if attempt.source not in SOURCES:
        raise AttemptRejected("INVALID_SOURCE", f"source must be one of {', '.join(SOURCES)}")
    for name, value in (("answer", attempt.answer), ("payload", attempt.payload)):
        size = 0 if value is None else len(orjson.dumps(value))
        if size > policy.max_payload_bytes:
            raise AttemptRejected(
                f"{name.upper()}_TOO_LARGE",
                f"{name} is {size} bytes; the limit is {policy.max_payload_bytes}",
            )


async def record_attempt(
    conn: raw.Connection,
    *,
    user_id: uuid.UUID,
    attempt: AttemptInput,
    now: datetime,
    policy: AttemptPolicy,
) -> AttemptOutcome:
    """Record ``attempt`` once and return its outcome (the stored one for a replay).

    Raises AttemptRejected (nothing written by this function) for invalid input, an
    unknown or inactive task, or an id already used with different content.
    """
    attempt = as_json_numbers(attempt)
    if attempt.answer is not None:
        attempt = replace(attempt, answer=_json_numbers(attempt.answer))
    await q.lock_user(conn, user_id)
    # Read after the lock, so that it sees every earlier attempt of this user.
    start = await q.start_attempt(
        conn, user_id, attempt.id, attempt.task_id, _history_instant(attempt, now), now
    )
    timezone = start.timezone
    if timezone is None:
        # A concurrent first request (an enrollment, a reservation) committed the user row
        # after start_attempt's snapshot: its insert waited for it and did nothing.
        timezone = await q.get_timezone(conn, user_id)
    digest = fingerprint(attempt)
    if start.fingerprint is not None:
        if start.fingerprint != digest:
            raise AttemptRejected(
                "IDEMPOTENCY_CONFLICT",
                "this attempt id was already used with different content",
            )
        return replace(outcomes.from_json(start.outcome), replayed=True)
    validate(attempt, now=now, policy=policy)
    task = start  # the placement columns: task_id, active, theme_id, section_id, course_id
    if task.task_id is None:
        raise AttemptRejected("TASK_NOT_FOUND", "there is no such task")
    if not task.active:
        raise AttemptRejected("TASK_INACTIVE", "this task is no longer part of its course")
    solved = await _verdict(conn, attempt, task)
    attempt = replace(attempt, solved=solved)
    stored_streak = (
        streaks.Streak(
            start.current,
            start.longest,
            start.last_active_day,
            start.freezes,
            tuple(start.frozen_days),
        )
        if start.streak_stored
        else streaks.NO_STREAK
    )
    day_start = policy.streak.day_start_hour
    local_day = streaks.local_day(
        attempt.occurred_at, start.zone or timezone, start.floor_day, day_start
    )
    local_today = streaks.local_day(now, start.now_zone or timezone, start.now_floor_day, day_start)
    record = AttemptRecord(
        id=attempt.id,
        task_id=task.task_id,
        tries=attempt.tries,
        time_spent_ms=attempt.time_spent_ms,
        solved=solved,
        source=attempt.source,
        occurred_at=attempt.occurred_at,
        local_day=local_day,
        created_at=now,
        graded_by=task.grading,
    )
    inserted = await q.insert_attempt(
        conn,
        {
            "user_id": user_id,
            "id": attempt.id,
            "task_id": attempt.task_id,
            "theme_id": task.theme_id,
            "section_id": task.section_id,
            "course_id": task.course_id,
            "tries": attempt.tries,
            "time_spent_ms": attempt.time_spent_ms,
            "solved": solved,
            "payload": attempt.payload,
            "answer": attempt.answer,
            "graded_by": task.grading,
            "source": attempt.source,
            "occurred_at": attempt.occurred_at,
            "local_day": local_day,
            "created_at": now,
            "fingerprint": digest,
        },
    )
    # The user lock makes a concurrent insert of the same id impossible; if it ever
    # happens, fail loudly and roll back rather than count the attempt twice.
    assert inserted, "attempt id inserted concurrently despite the user lock"
    outcome = await _fold(
        conn,
        user_id=user_id,
        attempt=attempt,
        task=task,
        record=record,
        now=now,
        local_today=local_today,
        stored_streak=stored_streak,
        last_grant_day=start.last_grant_day,
        policy=policy.streak,
    )
    await q.set_attempt_outcome(conn, user_id, attempt.id, outcomes.to_json(outcome))
    return outcome


async def _verdict(conn: raw.Connection, attempt: AttemptInput, task: Any) -> bool:
    """Whether the attempt solved the task: the server's grade of the answer under server
    grading (by the key valid at ``occurredAt``), else the client's word."""
    if task.grading != "server":
        if attempt.solved is None:
            raise AttemptRejected(
                "SOLVED_REQUIRED", "this task is graded by the client: send `solved`"
            )
        return attempt.solved
    if attempt.answer is None:
        raise AttemptRejected(
            "ANSWER_REQUIRED", "this task is graded by the server: send the learner's `answer`"
        )
    key = await q.answer_key(conn, task.task_id, attempt.occurred_at)
    task_type, content = key.type, key.content
    if next(grading.key_problems(task_type, content, path=""), None) is not None:
        # A key from before the task was server-graded: the current key (checked on import).
        task_type, content = key.current_type, key.current_content
    try:
        return grading.grade(task_type, content, attempt.answer)
    except grading.InvalidAnswer as error:
        raise AttemptRejected("INVALID_ANSWER", str(error)) from None
    except (KeyError, TypeError, ValueError):
        # A key written past the import's checks (by hand in the database).
        raise AttemptRejected(
            "INVALID_ANSWER", "this task's answer key cannot grade answers"
        ) from None


async def _fold(
    conn: raw.Connection,
    *,
    user_id: uuid.UUID,
    attempt: AttemptInput,
    task: Any,
    record: AttemptRecord,
    now: datetime,
    local_today: date,
    stored_streak: streaks.Streak,
    last_grant_day: date | None,
    policy: streaks.StreakPolicy,
) -> AttemptOutcome:
    await q.ensure_enrollment(conn, user_id, task.course_id, now)
    state = await q.upsert_task_state(
        conn,
        user_id=user_id,
        task_id=task.task_id,
        tries=attempt.tries,
        time_spent_ms=attempt.time_spent_ms,
        solved=record.solved,
        occurred_at=attempt.occurred_at,
    )
    newly_solved = record.solved and not state.was_solved
    section = await q.upsert_section_progress(
        conn,
        user_id=user_id,
        section_id=task.section_id,
        newly_solved=newly_solved,
        time_spent_ms=attempt.time_spent_ms,
        now=now,
    )
    course = await q.upsert_course_progress(
        conn,
        user_id=user_id,
        course_id=task.course_id,
        newly_solved=newly_solved,
        time_spent_ms=attempt.time_spent_ms,
        now=now,
    )
    if newly_solved and course.solved_tasks >= course.total_tasks > 0:
        await q.complete_enrollment(conn, user_id, task.course_id, attempt.occurred_at)
    streak, day = await _update_streak(
        conn,
        user_id=user_id,
        record=record,
        current=stored_streak,
        in_grace=now - attempt.occurred_at <= policy.grace,
        last_grant_day=last_grant_day,
        policy=policy,
    )
    reservation_error = await task_queue.settle_attempt(
        conn,
        user_id=user_id,
        task_id=task.task_id,
        course_id=task.course_id,
        solved=state.status == "solved",
        failure_count=state.failure_count,
        last_attempt_at=state.last_attempt_at,
        lease_token=attempt.lease_token,
        now=now,
    )
    new_badges = (
        await badge_awards.award_for_attempt(
            conn,
            badge_awards.AttemptEvent(
                user_id=user_id,
                attempt_id=attempt.id,
                occurred_at=attempt.occurred_at,
                local_day=record.local_day,
                theme_id=task.theme_id,
                section_id=task.section_id,
                course_id=task.course_id,
                section=Counts(section.solved_tasks, section.total_tasks),
                course=Counts(course.solved_tasks, course.total_tasks),
                current_streak=streak.as_of(record.local_day),
                day_solved_tasks=day.solved_tasks,
                content_version=task.content_version,
                grew=_grown_facts(
                    newly_solved=newly_solved,
                    new_task_today=day.new_task,
                    new_streak_day=streak is not stored_streak,
                    one_try_faster=state.one_try_faster,
                ),
            ),
        )
        if record.solved
        else ()
    )
    return AttemptOutcome(
        attempt=record,
        section_id=task.section_id,
        course_id=task.course_id,
        task_state=TaskStateRecord.from_row(state),
        section_progress=ProgressRecord.from_row(section),
        course_progress=ProgressRecord.from_row(course),
        streak=streak,
        local_today=local_today,
        new_badge_ids=new_badges,
        reservation_error=reservation_error,
        replayed=False,
    )


def _grown_facts(
    *, newly_solved: bool, new_task_today: bool, new_streak_day: bool, one_try_faster: bool
) -> frozenset[str]:
    """The badge facts an attempt grew (see badge_awards.AttemptEvent.grew)."""
    grown = (
        ("solved_total", newly_solved),
        ("day", new_task_today),
        ("streak", new_streak_day),
        ("fast", one_try_faster),
    )
    return frozenset(name for name, grew in grown if grew)


async def _update_streak(
    conn: raw.Connection,
    *,
    user_id: uuid.UUID,
    record: AttemptRecord,
    current: streaks.Streak,
    in_grace: bool,
    last_grant_day: date | None,
    policy: streaks.StreakPolicy,
) -> tuple[streaks.Streak, Any]:
    """Count the attempt on its local day and advance the streak; returns the streak (the
    very ``current`` object when it did not change) and the day's row (``solved_tasks``,
    ``new_task``: see upsert_daily_activity)."""
    # ``current`` was read after the user lock; only this user's attempts, freeze grants
    # and a recompute, all under the same lock, write the streak, so it is still stored.
    day_totals = await q.upsert_daily_activity(
        conn,
        user_id=user_id,
        attempt_id=record.id,
        task_id=record.task_id,
        day=record.local_day,
        solved=record.solved,
        in_grace=in_grace,
        time_spent_ms=record.time_spent_ms,
    )
    if not (record.solved and in_grace and day_totals.streak_solved == 1):
        return current, day_totals
    # A grant on a later day than this one counts after it in the fold: only a rebuild
    # puts this day before it.
    before_a_grant = last_grant_day is not None and record.local_day < last_grant_day
    advanced = None if before_a_grant else streaks.advance(current, record.local_day, policy)
    if advanced is None:
        return await rebuild_streak(conn, user_id, policy), day_totals
    await q.save_streak(conn, user_id, advanced, last_grant_day)
    return advanced, day_totals


async def rebuild_streak(
    conn: raw.Connection, user_id: uuid.UUID, policy: streaks.StreakPolicy
) -> streaks.Streak:
    """Fold the user's streak again from their streak days and grants, and store it (a late
    attempt filled a gap, or a freeze was granted). The caller holds the user lock."""
    inputs = await q.streak_inputs(conn, user_id)
    grants = list(zip(inputs.grant_days, inputs.grant_counts, strict=True))
    rebuilt = streaks.fold(inputs.days, grants, policy)
    await q.save_streak(conn, user_id, rebuilt, max(inputs.grant_days, default=None))
    return rebuilt


def _history_instant(attempt: AttemptInput, now: datetime) -> datetime:
    """The instant whose time-zone history the attempt is read with: ``occurredAt``, or
    ``now`` for a value that validation refuses anyway (no offset, out of range)."""
    if attempt.occurred_at.tzinfo is None:
        return now
    try:
        if abs(attempt.occurred_at - now) < timedelta(days=3660):
            return attempt.occurred_at
    except OverflowError:
        pass
    return now


@dataclass(frozen=True, slots=True)
class AttemptFailure:
    """An attempt that was refused; nothing of it was written."""

    attempt_id: uuid.UUID
    error: AttemptRejected


async def record_attempts(
    conn: raw.Connection,
    *,
    user_id: uuid.UUID,
    attempts: Sequence[AttemptInput],
    now: datetime,
    policy: AttemptPolicy,
) -> list[AttemptOutcome | AttemptFailure]:
    """Record a batch in order, each item on its own savepoint; one result per item.

    A rejected item leaves no trace and does not affect the others; an id repeated inside
    the batch is rejected from its second occurrence on.
    """
    seen: set[uuid.UUID] = set()
    results: list[AttemptOutcome | AttemptFailure] = []
    for attempt in attempts:
        if attempt.id in seen:
            error = AttemptRejected("DUPLICATE_IN_BATCH", "this attempt id appears earlier")
            results.append(AttemptFailure(attempt.id, error))
            continue
        seen.add(attempt.id)
        try:
            async with conn.begin_nested():
                outcome = await record_attempt(
                    conn, user_id=user_id, attempt=attempt, now=now, policy=policy
                )
        except AttemptRejected as error:
            results.append(AttemptFailure(attempt.id, error))
            continue
        results.append(outcome)
    return results
