"""Relay object identification: ``node(id:)`` and ``nodes(ids:)`` refetch any object with an
identity by its global id."""

from collections.abc import Awaitable
from typing import Annotated, Any

import strawberry

from gql.badges.types import Badge, BadgeRule
from gql.content.types import Course, Info, Node, Section, Task, Theme
from gql.errors import BadUserInput
from gql.ids import from_global_id

MAX_NODES = 100

# Each type with a global id: its class and the loader that fetches its rows by id.
NODE_TYPES: dict[str, tuple[Any, str]] = {
    "Course": (Course, "course_by_id"),
    "Section": (Section, "section_by_id"),
    "Theme": (Theme, "theme_by_id"),
    "Task": (Task, "task_by_id"),
    "Badge": (Badge, "badge_by_id"),
    "BadgeRule": (BadgeRule, "rule_by_id"),
}


async def _node(info: Info, global_id: str) -> Node | None:
    type_name, db_id = from_global_id(global_id)
    known = NODE_TYPES.get(type_name)
    if known is None:
        return None
    node_type, loader = known
    row = await getattr(info.context.loaders, loader).load(db_id)
    return node_type.from_row(row) if row else None


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id; null if there is none.")
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Global id.")],
    ) -> Node | None:
        return await _node(info, id)

    @strawberry.field(
        description="Objects by their global ids, in the order asked (up to 100); null for an "
        "id that names nothing, an error on that item alone for a malformed one."
    )
    def nodes(
        self,
        info: Info,
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="Global ids.")],
    ) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise BadUserInput(f"'ids' holds at most {MAX_NODES} ids")
        items: list[Awaitable[Node | None]] = [_node(info, id_) for id_ in ids]
        return items  # type: ignore[return-value]
