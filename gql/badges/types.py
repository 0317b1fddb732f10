"""Badges a learner can earn, the rules that award them, and the viewer's progress."""

import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from db import keyset
from gql import paging
from gql.badges import criteria as rule_criteria
from gql.content.types import Info, Node
from gql.ids import to_global_id, to_global_key
from gql.paging import After, Before, Connection, First, Last


@strawberry.type(description="One way to earn a badge: a typed rule with its criteria.")
class BadgeRule(Node):
    db_id: strawberry.Private[uuid.UUID]
    key: str = strawberry.field(description="Stable external key.")
    rule_type: str = strawberry.field(
        description="The rule type, e.g. section_completed or streak."
    )
    criteria: JSON = strawberry.field(
        description="The rule's criteria; content nodes named by their global ids."
    )
    active: bool = strawberry.field(description="Whether the rule still awards its badge.")

    @classmethod
    def from_row(cls, row: Any) -> "BadgeRule":
        return cls(
            id=strawberry.ID(to_global_id("BadgeRule", row.id)),
            db_id=row.id,
            key=row.key,
            rule_type=row.type,
            criteria=rule_criteria.to_client(row.criteria),
            active=row.active,
        )


@strawberry.type(description="How far the viewer is on one rule of a badge.")
class BadgeRuleProgress:
    rule_id: strawberry.ID = strawberry.field(description="Global id of the rule.")
    rule_type: str = strawberry.field(description="The rule type.")
    earned: bool = strawberry.field(description="Whether the viewer holds the badge by it.")
    awarded_at: datetime | None = strawberry.field(
        description="When it was earned (the qualifying attempt's occurredAt, or the content"
        " change that completed it), if earned."
    )
    current: int = strawberry.field(description="Progress so far, e.g. 4 (days, tasks).")
    target: int = strawberry.field(description="What the rule asks for, e.g. 7.")

    @classmethod
    def from_progress(cls, progress: Any) -> "BadgeRuleProgress":
        return cls(
            rule_id=strawberry.ID(to_global_id("BadgeRule", progress.rule_id)),
            rule_type=progress.rule_type,
            earned=progress.earned,
            awarded_at=progress.awarded_at,
            current=progress.current,
            target=progress.target,
        )


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

    @strawberry.field(description="The rules that award this badge, oldest first.")
    async def rules(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[BadgeRule]:
        page = paging.page_of(first, after, last, before, datetime.fromisoformat, uuid.UUID)
        rows = await info.context.loaders.rules_by_badge.load(self.db_id)
        read = keyset.window(rows, page, _rule_key, descending=False)
        return paging.connection(page, read, _rule_key, BadgeRule.from_row)

    @strawberry.field(description="The viewer's progress on each rule; needs a bearer token.")
    async def rule_progress(self, info: Info) -> list[BadgeRuleProgress] | None:
        key = (info.context.user_id, self.db_id)
        rows = await info.context.loaders.badge_progress.load(key)
        return [BadgeRuleProgress.from_progress(row) for row in rows]


def _rule_key(row: Any) -> tuple[Any, ...]:
    return (row.created_at, row.id)


@strawberry.type(description="A badge the viewer holds.")
class Award(Node):
    badge_db_id: strawberry.Private[uuid.UUID]
    context: JSON = strawberry.field(
        description="What it was earned for, e.g. {sectionId}; {} for the learner overall."
    )
    awarded_at: datetime = strawberry.field(
        description="When it was earned: the qualifying attempt's occurredAt (not when it was"
        " processed), or the moment of the content change that completed it."
    )
    retroactive: bool = strawberry.field(
        description="Awarded later by a backfill: clients may skip celebrating it."
    )
    attempt_id: uuid.UUID | None = strawberry.field(
        description="The attempt that earned it; null when a content change earned it."
    )

    @classmethod
    def from_row(cls, row: Any) -> "Award":
        return cls(
            id=strawberry.ID(to_global_key("Award", row.user_id, row.badge_id, row.context_key)),
            badge_db_id=row.badge_id,
            context=rule_criteria.to_client(row.context),
            awarded_at=row.awarded_at,
            retroactive=row.retroactive,
            attempt_id=row.attempt_id,
        )

    @strawberry.field(description="The badge.")
    async def badge(self, info: Info) -> Badge | None:
        row = await info.context.loaders.badge_by_id.load(self.badge_db_id)
        return Badge.from_row(row) if row else None
