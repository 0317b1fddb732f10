"""What recording an attempt returns, and its JSON form stored on the attempt for replays."""

import dataclasses
import types
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Union, get_args, get_origin, get_type_hints

import orjson

from domain.streaks import Streak


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    id: uuid.UUID
    task_id: uuid.UUID
    tries: int
    time_spent_ms: int
    solved: bool
    source: str
    occurred_at: datetime
    local_day: date
    created_at: datetime
    # Who decided ``solved`` (outcomes stored before grading existed hold no value: client).
    graded_by: str = "client"


@dataclass(frozen=True, slots=True)
class TaskStateRecord:
    status: str
    success_count: int
    failure_count: int
    total_tries: int
    total_time_ms: int
    average_time_ms: int
    first_attempt_at: datetime | None
    last_attempt_at: datetime | None
    solved_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> "TaskStateRecord":
        return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})


@dataclass(frozen=True, slots=True)
class ProgressRecord:
    solved_tasks: int
    total_tasks: int
    percent_complete: float
    attempts_count: int
    total_time_ms: int
    average_time_ms: int
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> "ProgressRecord":
        values = {f.name: getattr(row, f.name) for f in dataclasses.fields(cls)}
        values["percent_complete"] = float(values["percent_complete"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    attempt: AttemptRecord
    section_id: uuid.UUID
    course_id: uuid.UUID
    task_state: TaskStateRecord
    section_progress: ProgressRecord
    course_progress: ProgressRecord
    streak: Streak
    local_today: date
    new_badge_ids: tuple[uuid.UUID, ...]
    # Set when the attempt carried a lease token that no longer held (e.g. LEASE_EXPIRED);
    # the attempt itself is recorded all the same.
    reservation_error: str | None
    replayed: bool


def _other(value: Any) -> Any:
    # What orjson does not write itself: a NUMERIC column, and asyncpg's UUID (a subclass).
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _decode(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        (inner,) = [a for a in get_args(kind) if a is not type(None)]
        return _decode(inner, value)
    if origin is tuple:
        return tuple(_decode(get_args(kind)[0], v) for v in value)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = get_type_hints(kind)
        # A field added later (a streak's freezes) is absent from older outcomes: default.
        return kind(
            **{
                f.name: _decode(hints[f.name], value[f.name])
                for f in dataclasses.fields(kind)
                if f.name in value or f.default is dataclasses.MISSING
            }
        )
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if kind is uuid.UUID:
        return uuid.UUID(value)
    return value


def to_json(outcome: AttemptOutcome) -> str:
    """The outcome as JSON text: objects for the records, ISO dates, string UUIDs."""
    return orjson.dumps(outcome, default=_other).decode()


def from_json(data: dict[str, Any]) -> AttemptOutcome:
    """The outcome stored by ``to_json``."""
    decoded: AttemptOutcome = _decode(AttemptOutcome, data)
    return decoded
