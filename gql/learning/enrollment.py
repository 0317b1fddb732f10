"""enroll, pauseCourse, resumeCourse."""

from enum import Enum
from typing import Annotated

import strawberry

from domain import enrollments
from domain.errors import CourseNotFound, EnrollmentCompleted, NotEnrolled
from gql.content.types import Info
from gql.ids import find_id
from gql.learning.types import Enrollment


@strawberry.enum(description="Why an enrollment change was refused.")
class EnrollmentErrorCode(Enum):
    COURSE_NOT_FOUND = strawberry.enum_value(
        "COURSE_NOT_FOUND", description="There is no course with that id."
    )
    NOT_ENROLLED = strawberry.enum_value(
        "NOT_ENROLLED", description="The viewer is not enrolled in the course."
    )
    ALREADY_COMPLETED = strawberry.enum_value(
        "ALREADY_COMPLETED", description="The course is completed: it cannot be paused or resumed."
    )


@strawberry.type(description="The change was refused; nothing was written.")
class EnrollmentError:
    code: EnrollmentErrorCode = strawberry.field(description="What was wrong.")
    message: str = strawberry.field(description="Human-readable explanation.")


@strawberry.type(description="The enrollment after the change.")
class EnrollmentSuccess:
    enrollment: Enrollment = strawberry.field(description="The enrollment.")


EnrollmentPayload = Annotated[
    EnrollmentSuccess | EnrollmentError,
    strawberry.union("EnrollmentPayload", description="Result of an enrollment change."),
]

CourseId = Annotated[strawberry.ID, strawberry.argument(description="Global id of the course.")]


@strawberry.type
class EnrollmentMutation:
    @strawberry.mutation(description="Enroll the viewer in a course (idempotent).")
    async def enroll(self, info: Info, course_id: CourseId) -> EnrollmentPayload:
        user_id, course = info.context.user_id, find_id(course_id, "Course")
        try:
            if course is None:
                raise CourseNotFound("there is no such course")
            async with info.context.database.transaction() as conn:
                record = await enrollments.enroll(
                    conn, user_id=user_id, course_id=course, now=info.context.now()
                )
        except CourseNotFound as error:
            return EnrollmentError(code=EnrollmentErrorCode(error.code), message=error.message)
        return EnrollmentSuccess(enrollment=Enrollment.from_row(record))

    @strawberry.mutation(
        description="Pause the viewer's enrollment in a course: `reserveTasks` refuses it "
        "(`COURSE_PAUSED`) and `viewer.queue` is empty until it is resumed. Attempts are still "
        "recorded and do not resume it."
    )
    async def pause_course(self, info: Info, course_id: CourseId) -> EnrollmentPayload:
        return await _set_paused(info, course_id, paused=True)

    @strawberry.mutation(
        description="Resume the viewer's paused enrollment in a course: its queue is served "
        "again, with the due times it had (those that passed while paused are due at once)."
    )
    async def resume_course(self, info: Info, course_id: CourseId) -> EnrollmentPayload:
        return await _set_paused(info, course_id, paused=False)


async def _set_paused(info: Info, course_id: strawberry.ID, *, paused: bool) -> EnrollmentPayload:
    user_id, course = info.context.user_id, find_id(course_id, "Course")
    try:
        if course is None:
            raise NotEnrolled("the learner is not enrolled in this course")
        async with info.context.database.transaction() as conn:
            record = await enrollments.set_paused(
                conn, user_id=user_id, course_id=course, paused=paused
            )
    except (NotEnrolled, EnrollmentCompleted) as error:
        return EnrollmentError(code=EnrollmentErrorCode(error.code), message=error.message)
    return EnrollmentSuccess(enrollment=Enrollment.from_row(record))
