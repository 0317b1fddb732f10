"""Relay object identification: ``node(id:)`` and ``nodes(ids:)`` refetch any object with an
identity by its global id.

A learner's own records (attempts, awards, enrollments) carry the learner in their id and
answer only that learner: for anyone else, or without a token, they are null, as an id that
names nothing.
"""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry

from gql.badges.types import Award, Badge, BadgeRule
from gql.content.types import Course, Info, Node, Section, Task, Theme
from gql.errors import BadUserInput
from gql.ids import split_global_id
from gql.learning.types import Attempt, Enrollment
from gql.viewer.schema import authenticated_viewer

MAX_NODES = 100

Fetch = Callable[[Info, str], Awaitable[Node | None]]


def _by_id(node_type: Any, loader: str) -> Fetch:
    async def fetch(info: Info, raw: str) -> Node | None:
        row = await getattr(info.context.loaders, loader).load(uuid.UUID(raw))
        return node_type.from_row(row) if row else None

    return fetch


def _viewer_parts(info: Info, raw: str, parts: int) -> list[str] | None:
    """The key parts after the learner's id, when the id is the viewer's own record."""
    owner, *rest = raw.split(":", parts)
    if len(rest) != parts:
        raise ValueError("too few parts")
    identity = info.context.identity
    return rest if identity is not None and uuid.UUID(owner) == identity.user_id else None


async def _attempt(info: Info, raw: str) -> Node | None:
    key = _viewer_parts(info, raw, 1)
    if key is None:
        return None
    user_id = info.context.user_id
    row = await info.context.loaders.attempt_by_user_id.load((user_id, uuid.UUID(key[0])))
    return Attempt.from_row(row, user_id) if row else None


async def _award(info: Info, raw: str) -> Node | None:
    key = _viewer_parts(info, raw, 2)
    if key is None:
        return None
    badge_id, context_key = uuid.UUID(key[0]), key[1]
    rows = await info.context.loaders.awards_by_user_badge.load((info.context.user_id, badge_id))
    found = [row for row in rows if row.context_key == context_key]
    return Award.from_row(found[0]) if found else None


async def _enrollment(info: Info, raw: str) -> Node | None:
    key = _viewer_parts(info, raw, 1)
    if key is None:
        return None
    course_id = uuid.UUID(key[0])
    rows = await info.context.loaders.enrollments_by_user.load(info.context.user_id)
    found = [row for row in rows if row.course_id == course_id]
    return Enrollment.from_row(found[0]) if found else None


async def _viewer(info: Info, raw: str) -> Node | None:
    identity = info.context.identity
    if identity is None or uuid.UUID(raw) != identity.user_id:
        return None
    return await authenticated_viewer(info)


# Each type with a global id, and how to fetch one by the rest of its id.
NODE_TYPES: dict[str, Fetch] = {
    "Course": _by_id(Course, "course_by_id"),
    "Section": _by_id(Section, "section_by_id"),
    "Theme": _by_id(Theme, "theme_by_id"),
    "Task": _by_id(Task, "task_by_id"),
    "Badge": _by_id(Badge, "badge_by_id"),
    "BadgeRule": _by_id(BadgeRule, "rule_by_id"),
    "Attempt": _attempt,
    "Award": _award,
    "Enrollment": _enrollment,
    "Viewer": _viewer,
}


async def _node(info: Info, global_id: str) -> Node | None:
    type_name, raw = split_global_id(global_id)
    fetch = NODE_TYPES.get(type_name)
    if fetch is None:
        return None
    try:
        return await fetch(info, raw)
    except ValueError as exc:  # a part that is not a UUID
        raise BadUserInput(f"'{global_id[:64]}' is not a valid id") from exc


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
