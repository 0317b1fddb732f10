"""submitAttempt / submitAttempts: record attempts exactly once, from web and mobile."""

import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated

import orjson
import strawberry
from strawberry.scalars import JSON

from domain import attempts, grading
from domain.errors import AttemptRejected
from domain.outcomes import AttemptOutcome
from gql.badges.types import Badge
from gql.content.types import Course, Info, Section, Task, Theme
from gql.errors import BadUserInput
from gql.ids import find_id
from gql.learning.types import Attempt, AttemptSource, Streak
from gql.plain_inputs import plain_fields
from gql.progress.types import Progress, TaskState
from gql.queue.types import ReservationErrorCode
from gql.viewer.schema import Viewer, authenticated_viewer

MAX_BATCH = 100


@plain_fields
@strawberry.input(description="One attempt at a task, as the client saw it.")
class SubmitAttemptInput:
    id: uuid.UUID = strawberry.field(
        description="Client-generated attempt id (UUID): the idempotency key. Send the same "
        "id again to retry safely."
    )
    task_id: strawberry.ID = strawberry.field(description="Global id of the task.")
    tries: int = strawberry.field(description="Tries within this attempt, at least 1.")
    time_spent_ms: int = strawberry.field(description="Time spent, in milliseconds.")
    solved: bool | None = strawberry.field(
        default=None,
        description="Whether the attempt solved the task, by the client's grading. Required "
        "for a task graded by the client; ignored for one the server grades (`Task.grading`).",
    )
    occurred_at: datetime = strawberry.field(
        description="When it happened, by the client's clock, with an offset."
    )
    source: AttemptSource = strawberry.field(description="Where the attempt was made.")
    payload: JSON | None = strawberry.field(
        default=None, description="Any client data to keep with the attempt (size-limited)."
    )
    answer: JSON | None = strawberry.field(
        default=None,
        description="The learner's answer. Required for a task the server grades, which "
        "decides `solved` from it: an option index (single choice), a list of option indices "
        "(multiple choice), a string (text), a number (numeric) or the item indices in order "
        "(ordering). Part of the idempotency fingerprint.",
    )
    lease_token: uuid.UUID | None = strawberry.field(
        default=None,
        description="The lease token of the reservation this attempt completes (reserveTasks); "
        "not part of the idempotency fingerprint.",
    )


@strawberry.enum(description="Why an attempt was not recorded.")
class SubmitAttemptErrorCode(Enum):
    TASK_NOT_FOUND = strawberry.enum_value(
        "TASK_NOT_FOUND", description="There is no task with that id."
    )
    TASK_INACTIVE = strawberry.enum_value("TASK_INACTIVE", description="The task is deactivated.")
    INVALID_TRIES = strawberry.enum_value(
        "INVALID_TRIES", description="`tries` is below 1 or too large."
    )
    INVALID_TIME_SPENT = strawberry.enum_value(
        "INVALID_TIME_SPENT", description="`timeSpentMs` is negative or too large."
    )
    INVALID_OCCURRED_AT = strawberry.enum_value(
        "INVALID_OCCURRED_AT", description="`occurredAt` has no UTC offset."
    )
    OCCURRED_IN_FUTURE = strawberry.enum_value(
        "OCCURRED_IN_FUTURE",
        description="`occurredAt` is ahead of the server's clock beyond the allowed skew.",
    )
    OCCURRED_TOO_LONG_AGO = strawberry.enum_value(
        "OCCURRED_TOO_LONG_AGO", description="`occurredAt` is older than the offline window."
    )
    INVALID_SOURCE = strawberry.enum_value(
        "INVALID_SOURCE", description="The source is not accepted."
    )
    PAYLOAD_TOO_LARGE = strawberry.enum_value(
        "PAYLOAD_TOO_LARGE",
        description="`payload` is over the size limit or holds a number beyond a double.",
    )
    IDEMPOTENCY_CONFLICT = strawberry.enum_value(
        "IDEMPOTENCY_CONFLICT", description="This id was recorded before with other values."
    )
    DUPLICATE_IN_BATCH = strawberry.enum_value(
        "DUPLICATE_IN_BATCH", description="This id appears earlier in the same batch."
    )
    ANSWER_REQUIRED = strawberry.enum_value(
        "ANSWER_REQUIRED", description="The server grades this task: `answer` is required."
    )
    INVALID_ANSWER = strawberry.enum_value(
        "INVALID_ANSWER", description="`answer` is not of the shape this task's type takes."
    )
    ANSWER_TOO_LARGE = strawberry.enum_value(
        "ANSWER_TOO_LARGE", description="`answer` is over the size limit."
    )
    SOLVED_REQUIRED = strawberry.enum_value(
        "SOLVED_REQUIRED", description="The client grades this task: `solved` is required."
    )


@strawberry.type(description="The attempt was not recorded; nothing changed.")
class SubmitAttemptError:
    attempt_id: uuid.UUID = strawberry.field(description="The attempt id that was refused.")
    code: SubmitAttemptErrorCode = strawberry.field(description="What was wrong.")
    message: str = strawberry.field(description="Human-readable explanation.")


AS_STORED = (
    " as this attempt left it (a replay answers it again); `task`, `section`, `course` and "
    "`viewer` below hold the current numbers."
)


@strawberry.type(
    description="The attempt is recorded. The nodes it changed come back with their current "
    "state (task, theme, section, course, viewer), so a normalized client cache (Apollo, "
    "urql, Relay) updates every number it shows from this payload alone."
)
class SubmitAttemptSuccess:
    task_db_id: strawberry.Private[uuid.UUID]
    section_db_id: strawberry.Private[uuid.UUID]
    course_db_id: strawberry.Private[uuid.UUID]
    attempt: Attempt = strawberry.field(description="The recorded attempt.")
    task_state: TaskState = strawberry.field(
        description=f"The learner's state on the task{AS_STORED}",
    )
    section_progress: Progress = strawberry.field(
        description=f"Progress in the task's section{AS_STORED}",
    )
    course_progress: Progress = strawberry.field(
        description=f"Progress in the task's course{AS_STORED}",
    )
    streak: Streak = strawberry.field(
        description=f"The learner's streak{AS_STORED}",
    )
    new_badges: list[Badge] = strawberry.field(
        description="Badges this attempt earned (the same list again on a replay)."
    )
    replayed: bool = strawberry.field(
        description="True when this id was recorded before and this is the stored result."
    )
    reservation_error: ReservationErrorCode | None = strawberry.field(
        default=None,
        description="Set when `leaseToken` no longer held: the attempt is recorded, the queue "
        "is unchanged.",
    )

    @strawberry.field(description="The task attempted, with its current state; null if deleted.")
    async def task(self, info: Info) -> Task | None:
        row = await info.context.loaders.task_by_id.load(self.task_db_id)
        return Task.from_row(row) if row else None

    @strawberry.field(
        description="The task's explanation once the viewer may see it: after solving the "
        "task, or failing it as often as its course allows (the answer key is then in "
        "`task.content` too). Null before that, or when the task has none."
    )
    async def explanation(self, info: Info) -> str | None:
        row = await info.context.loaders.task_by_id.load(self.task_db_id)
        if row is None:
            return None
        task = Task.from_row(row)
        if not await task.revealed(info):
            return None
        return grading.explanation(orjson.loads(task.content_json))

    @strawberry.field(description="The task's theme, with its current progress.")
    async def theme(self, info: Info) -> Theme | None:
        task = await info.context.loaders.task_by_id.load(self.task_db_id)
        row = await info.context.loaders.theme_by_id.load(task.theme_id) if task else None
        return Theme.from_row(row) if row else None

    @strawberry.field(description="The task's section, with its current progress.")
    async def section(self, info: Info) -> Section | None:
        row = await info.context.loaders.section_by_id.load(self.section_db_id)
        return Section.from_row(row) if row else None

    @strawberry.field(description="The task's course, with its current progress.")
    async def course(self, info: Info) -> Course | None:
        row = await info.context.loaders.course_by_id.load(self.course_db_id)
        return Course.from_row(row) if row else None

    @strawberry.field(description="The learner, with the current streak and badges.")
    async def viewer(self, info: Info) -> Viewer:
        return await authenticated_viewer(info)


SubmitAttemptPayload = Annotated[
    SubmitAttemptSuccess | SubmitAttemptError,
    strawberry.union("SubmitAttemptPayload", description="Result of one attempt submission."),
]


def _to_domain(item: SubmitAttemptInput) -> attempts.AttemptInput:
    return attempts.AttemptInput(
        id=item.id,
        # None for a malformed id: TASK_NOT_FOUND for this item alone, not a GraphQL error
        # that would sink the other items of a batch.
        task_id=find_id(item.task_id, "Task"),
        tries=item.tries,
        time_spent_ms=item.time_spent_ms,
        solved=item.solved,
        occurred_at=item.occurred_at,
        source=str(item.source.value),
        payload=item.payload,
        answer=item.answer,
        lease_token=item.lease_token,
    )


async def _payload(
    info: Info, result: AttemptOutcome | attempts.AttemptFailure
) -> SubmitAttemptSuccess | SubmitAttemptError:
    if isinstance(result, attempts.AttemptFailure):
        return SubmitAttemptError(
            attempt_id=result.attempt_id,
            code=SubmitAttemptErrorCode(result.error.code),
            message=result.error.message,
        )
    badges = (
        await info.context.loaders.badge_by_id.load_many(list(result.new_badge_ids))
        if result.new_badge_ids
        else []
    )
    return SubmitAttemptSuccess(
        task_db_id=result.attempt.task_id,
        section_db_id=result.section_id,
        course_db_id=result.course_id,
        attempt=Attempt.from_row(result.attempt, info.context.user_id),
        task_state=TaskState.from_row(result.task_state),
        section_progress=Progress.from_row(result.section_progress),
        course_progress=Progress.from_row(result.course_progress),
        streak=Streak.from_streak(result.streak, result.local_today),
        new_badges=[Badge.from_row(row) for row in badges if row],
        replayed=result.replayed,
        reservation_error=ReservationErrorCode(result.reservation_error)
        if result.reservation_error
        else None,
    )


@strawberry.type
class SubmitAttemptMutation:
    @strawberry.mutation(description="Record one attempt exactly once (retries are safe).")
    async def submit_attempt(
        self,
        info: Info,
        input: Annotated[SubmitAttemptInput, strawberry.argument(description="The attempt.")],
    ) -> SubmitAttemptPayload:
        user_id = info.context.user_id
        attempt = _to_domain(input)
        result: AttemptOutcome | attempts.AttemptFailure
        try:
            async with info.context.database.write_transaction() as conn:
                result = await attempts.record_attempt(
                    conn,
                    user_id=user_id,
                    attempt=attempt,
                    now=info.context.now(),
                    policy=info.context.attempt_policy,
                )
        except AttemptRejected as error:
            # Raised inside the transaction: everything it wrote is rolled back.
            result = attempts.AttemptFailure(attempt.id, error)
        info.context.forget_reads()
        return await _payload(info, result)

    @strawberry.mutation(
        description="Record up to 100 attempts in order (offline sync); one result per item."
    )
    async def submit_attempts(
        self,
        info: Info,
        inputs: Annotated[
            list[SubmitAttemptInput], strawberry.argument(description="The attempts, in order.")
        ],
    ) -> list[SubmitAttemptPayload]:
        user_id = info.context.user_id
        if len(inputs) > MAX_BATCH:
            raise BadUserInput(f"a batch holds at most {MAX_BATCH} attempts")
        async with info.context.database.write_transaction() as conn:
            results = await attempts.record_attempts(
                conn,
                user_id=user_id,
                attempts=[_to_domain(item) for item in inputs],
                now=info.context.now(),
                policy=info.context.attempt_policy,
            )
        info.context.forget_reads()
        return [await _payload(info, result) for result in results]
