"""Content queries: the course catalog and one course."""

import uuid
from typing import Annotated

import strawberry

from db import content_queries
from gql import paging
from gql.content.types import Course, Info
from gql.ids import parse_id
from gql.paging import After, Before, Connection, First, Last


@strawberry.type
class ContentQuery:
    @strawberry.field(description="Courses in display order, a page at a time.")
    async def courses(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Course]:
        page = paging.page_of(first, after, last, before, int, uuid.UUID)
        rows = await info.context.database.read(content_queries.list_courses, page)
        return paging.connection(page, rows, lambda row: (row.order_index, row.id), Course.from_row)

    @strawberry.field(description="One course by its global id; null if there is none.")
    async def course(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Global id.")],
    ) -> Course | None:
        row = await info.context.loaders.course_by_id.load(parse_id(id, "Course"))
        return Course.from_row(row) if row else None
