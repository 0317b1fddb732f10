"""Badges a learner can earn."""

import uuid
from typing import Any

import strawberry
from strawberry.scalars import JSON

from gql.content.types import Node
from gql.ids import to_global_id


@strawberry.type(description="A badge a learner can earn.")
class Badge(Node):
    db_id: strawberry.Private[uuid.UUID]
    key: str = strawberry.field(description="Stable external key from the content file.")
    name: str = strawberry.field(description="Name shown to the learner.")
    description: str = strawberry.field(description="What the badge is for.")
    media: JSON = strawberry.field(description="Images and other media, as authored.")
    active: bool = strawberry.field(description="Whether the badge can still be earned.")

    @classmethod
    def from_row(cls, row: Any) -> "Badge":
        return cls(
            id=strawberry.ID(to_global_id("Badge", row.id)),
            db_id=row.id,
            key=row.key,
            name=row.name,
            description=row.description,
            media=row.media,
            active=row.active,
        )
