"""Content queries: the course catalog and one course."""

import uuid
from typing import Annotated

import strawberry

from db import content_queries
from gql import cursors
from gql.content.types import Course, Info
from gql.errors import BadUserInput
from gql.ids import parse_id

MAX_PAGE = 100


@strawberry.type(description="Where a page of a connection starts and ends.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item.")


@strawberry.type(description="A course with its cursor.")
class CourseEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this one.")
    node: Course = strawberry.field(description="The course.")


@strawberry.type(description="A page of courses in display order.")
class CourseConnection:
    edges: list[CourseEdge] = strawberry.field(description="The courses of this page.")
    page_info: PageInfo = strawberry.field(description="Paging information.")


async def _courses_page(info: Info, first: int, after: str | None) -> CourseConnection:
    if not 1 <= first <= MAX_PAGE:
        raise BadUserInput(f"'first' must be between 1 and {MAX_PAGE}")
    position = cursors.decode(after, int, uuid.UUID) if after is not None else None
    rows = await info.context.database.read(
        content_queries.list_courses, after=position, limit=first + 1
    )
    edges = [
        CourseEdge(cursor=cursors.encode(row.order_index, row.id), node=Course.from_row(row))
        for row in rows[:first]
    ]
    return CourseConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None
        ),
    )


@strawberry.type
class ContentQuery:
    @strawberry.field(description="Courses in display order, a page at a time.")
    async def courses(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 100.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Return courses after this cursor.")
        ] = None,
    ) -> CourseConnection:
        return await _courses_page(info, first, after)

    @strawberry.field(description="One course by its global id; null if there is none.")
    async def course(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Global id.")],
    ) -> Course | None:
        row = await info.context.loaders.course_by_id.load(parse_id(id, "Course"))
        return Course.from_row(row) if row else None
