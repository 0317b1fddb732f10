"""Relay connections: every list that can grow without bound pages through here.

A connection field takes ``first``/``after`` (forward) or ``last``/``before`` (backward),
reads one keyset page (db/keyset.py) and answers ``edges { cursor node }``, the ``nodes``
shortcut and a full ``pageInfo``. A cursor is the row's sort key, opaque to the client.
"""

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from db import keyset
from gql import cursors
from gql.errors import BadUserInput

MAX_PAGE = 100
DEFAULT_PAGE = 20

T = TypeVar("T")
Row = TypeVar("Row")

First = Annotated[
    int | None,
    strawberry.argument(description="Page size from the start, 1 to 100 (20 without `last`)."),
]
After = Annotated[str | None, strawberry.argument(description="Return items after this cursor.")]
Last = Annotated[int | None, strawberry.argument(description="Page size from the end, 1 to 100.")]
Before = Annotated[str | None, strawberry.argument(description="Return items before this cursor.")]


@strawberry.type(description="Where a page of a connection starts and ends.")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Whether more items follow (paging backward: whether `before` was given)."
    )
    has_previous_page: bool = strawberry.field(
        description="Whether items come before this page (paging forward: whether `after` "
        "was given)."
    )
    start_cursor: str | None = strawberry.field(description="Cursor of the first item.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item.")


@strawberry.type(description="An item with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Pass as `after` or `before` to page from here.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list: its items with their cursors.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page, with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging information.")

    @strawberry.field(description="The items of this page, without cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


def page_of(
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    *key_parts: Callable[[str], Any],
) -> keyset.Page:
    """The page the arguments ask for; BAD_USER_INPUT for a size out of range, both sizes
    at once, or a cursor that is not one of this list's (decoded by ``key_parts``)."""
    if first is not None and last is not None:
        raise BadUserInput("pass 'first' or 'last', not both")
    size = first if last is None else last
    if size is None:
        size = DEFAULT_PAGE
    if not 1 <= size <= MAX_PAGE:
        raise BadUserInput(
            f"'{'last' if last is not None else 'first'}' must be between 1 and {MAX_PAGE}"
        )
    return keyset.Page(
        size=size,
        after=cursors.decode(after, *key_parts, argument="after") if after is not None else None,
        before=cursors.decode(before, *key_parts, argument="before")
        if before is not None
        else None,
        from_end=last is not None,
    )


def connection(
    page: keyset.Page,
    read: Sequence[Row],
    key: Callable[[Row], tuple[Any, ...]],
    node: Callable[[Row], T],
) -> Connection[T]:
    """The connection of the rows ``read`` for ``page`` (in reading order, one more than the
    page holds: db/keyset.py), each row's cursor encoding its sort ``key``."""
    rows, more = keyset.in_list_order(read, page)
    edges = [Edge(cursor=cursors.encode(*key(row)), node=node(row)) for row in rows]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.before is not None if page.from_end else more,
            has_previous_page=more if page.from_end else page.after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
