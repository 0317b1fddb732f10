"""When a task comes back after an attempt (DESIGN §4): the retry ladder and FSRS reviews.

Both policies answer one question through the same interface, as pure functions over
values: given the attempt just recorded (and, for FSRS, the task's whole attempt history),
is the queue entry done, scheduled again (when, and why), or expired?

- ``RetryLadder`` (the default): a solved task is done (a failure dated before or after
  its solve reopens nothing); the n-th failure comes back the n-th delay of the ladder
  after the latest failure occurred (the last delay repeats), and a failure beyond
  ``max_retries`` expires the task: it is no longer scheduled automatically.
- ``FsrsReview``: every attempt is an FSRS review (failed = Again, solved on the first try =
  Good, solved after several tries = Hard); the task is due when the ``fsrs`` package's
  scheduler says so: solved tasks at the interval that keeps recall at the target
  retention, failed ones after FSRS's (re)learning steps. It never expires a task.

A course chooses and tunes its policy with ``queue_policy`` in the content file
(``PolicyDocument``); null means the default ladder.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Protocol

import fsrs
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_RETRY_DELAYS = (
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=3),
)
DEFAULT_MAX_RETRIES = len(DEFAULT_RETRY_DELAYS)
DEFAULT_TARGET_RETENTION = 0.9
MAX_DELAY_SECONDS = 365 * 24 * 3600

EntryState = Literal["done", "queued", "expired"]
Reason = Literal["retry", "review"]


@dataclass(frozen=True, slots=True)
class Review:
    """One recorded attempt as a policy sees it; ``at`` is when it happened (UTC-aware)."""

    at: datetime
    solved: bool
    tries: int


@dataclass(frozen=True, slots=True)
class NextStep:
    """What becomes of the task's queue entry: done, queued again at ``due_at``, or expired."""

    state: EntryState
    reason: Reason | None = None
    due_at: datetime | None = None


DONE = NextStep("done")
EXPIRED = NextStep("expired")


class Policy(Protocol):
    @property
    def wants_history(self) -> bool:
        """Whether next_step reads ``history`` (the ladder does not: no need to load it)."""
        ...

    def next_step(
        self, *, solved: bool, failure_count: int, history: Sequence[Review], now: datetime
    ) -> NextStep:
        """The entry's next step after an attempt: ``solved`` whether any attempt solved the
        task, ``failure_count`` its failures (this attempt's included), ``history`` its
        attempts in the order they occurred, ``now`` the moment a delay counts from (its
        latest attempt's occurredAt)."""
        ...


@dataclass(frozen=True, slots=True)
class RetryLadder:
    delays: tuple[timedelta, ...] = DEFAULT_RETRY_DELAYS
    max_retries: int = DEFAULT_MAX_RETRIES
    wants_history: bool = False

    def delay(self, failure_count: int) -> timedelta | None:
        """The wait before retry number ``failure_count`` (1-based); None once expired."""
        if failure_count < 1 or failure_count > self.max_retries:
            return None
        return self.delays[min(failure_count, len(self.delays)) - 1]

    def next_step(
        self, *, solved: bool, failure_count: int, history: Sequence[Review], now: datetime
    ) -> NextStep:
        if solved:
            return DONE
        delay = self.delay(failure_count)
        return EXPIRED if delay is None else NextStep("queued", "retry", now + delay)


def fsrs_rating(review: Review) -> fsrs.Rating:
    """Failed = Again, solved on the first try = Good, solved after several tries = Hard."""
    if not review.solved:
        return fsrs.Rating.Again
    return fsrs.Rating.Good if review.tries == 1 else fsrs.Rating.Hard


@dataclass(frozen=True, slots=True)
class FsrsReview:
    target_retention: float = DEFAULT_TARGET_RETENTION
    learning_steps: tuple[timedelta, ...] = (timedelta(minutes=1), timedelta(minutes=10))
    relearning_steps: tuple[timedelta, ...] = (timedelta(minutes=10),)
    wants_history: bool = True

    def scheduler(self) -> fsrs.Scheduler:
        # No fuzzing: the same history always gives the same due time (and tests can
        # compare with the package's own output).
        return fsrs.Scheduler(
            desired_retention=self.target_retention,
            learning_steps=self.learning_steps,
            relearning_steps=self.relearning_steps,
            enable_fuzzing=False,
        )

    def card(self, history: Sequence[Review]) -> fsrs.Card:
        """The FSRS card after replaying ``history`` (in the order given) from a new card."""
        scheduler = self.scheduler()
        # An explicit card_id: the package's default waits a millisecond to make one unique.
        card = fsrs.Card(card_id=1)
        for review in history:
            card, _ = scheduler.review_card(card, fsrs_rating(review), review.at.astimezone(UTC))
        return card

    def next_step(
        self, *, solved: bool, failure_count: int, history: Sequence[Review], now: datetime
    ) -> NextStep:
        if not history:
            return DONE
        card = self.card(history)
        return NextStep("queued", "review" if history[-1].solved else "retry", card.due)


Seconds = Annotated[int, Field(ge=1, le=MAX_DELAY_SECONDS)]


class PolicyDocument(BaseModel):
    """A course's ``queue_policy`` as written in the content file; every field optional."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    retry_delay_seconds: Annotated[list[Seconds], Field(min_length=1, max_length=20)] = Field(
        default_factory=lambda: [int(d.total_seconds()) for d in DEFAULT_RETRY_DELAYS]
    )
    max_retries: Annotated[int, Field(ge=0, le=100)] = DEFAULT_MAX_RETRIES
    review: Literal["none", "fsrs"] = "none"
    target_retention: Annotated[float, Field(ge=0.7, le=0.99)] = DEFAULT_TARGET_RETENTION
    learning_step_seconds: Annotated[list[Seconds], Field(max_length=10)] = Field(
        default_factory=lambda: [60, 600]
    )
    relearning_step_seconds: Annotated[list[Seconds], Field(max_length=10)] = Field(
        default_factory=lambda: [600]
    )

    def policy(self) -> Policy:
        """The policy this document describes."""
        if self.review == "fsrs":
            return FsrsReview(
                target_retention=self.target_retention,
                learning_steps=_durations(self.learning_step_seconds),
                relearning_steps=_durations(self.relearning_step_seconds),
            )
        return RetryLadder(_durations(self.retry_delay_seconds), self.max_retries)


def _durations(seconds: Sequence[int]) -> tuple[timedelta, ...]:
    return tuple(timedelta(seconds=s) for s in seconds)


def policy_from_json(data: dict[str, Any] | None) -> Policy:
    """The policy stored on a course (null: the default ladder)."""
    if data is None:
        return RetryLadder()
    return PolicyDocument.model_validate(data).policy()
