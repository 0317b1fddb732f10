"""The badge catalog, and admin mutations for badges and rules."""

import uuid
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from db import content_queries
from domain import badge_admin, badge_backfill
from domain.errors import BadgeNotFound, InvalidBadgeRule
from gql import paging
from gql.badges import criteria as rule_criteria
from gql.badges.types import Badge, BadgeRule
from gql.content.types import Info
from gql.ids import find_id
from gql.paging import After, Before, Connection, First, Last


@strawberry.type
class BadgeQuery:
    @strawberry.field(description="Every active badge, by key, with the viewer's progress.")
    async def badges(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[Badge]:
        page = paging.page_of(first, after, last, before, str, uuid.UUID)
        rows = await info.context.database.read(content_queries.list_badges, page)
        return paging.connection(page, rows, lambda row: (row.key, row.id), Badge.from_row)


@strawberry.enum(description="Why a badge change was refused.")
class BadgeAdminErrorCode(Enum):
    INVALID_CRITERIA = strawberry.enum_value(
        "INVALID_CRITERIA", description="The input is invalid; `problems` names each bad field."
    )
    NOT_FOUND = strawberry.enum_value(
        "NOT_FOUND", description="There is no badge or rule with that id."
    )


@strawberry.type(description="One bad field of the input.")
class FieldProblem:
    path: str = strawberry.field(description="JSON path of the field, e.g. criteria.days.")
    message: str = strawberry.field(description="What is wrong with it.")


@strawberry.type(description="The change was refused; nothing was written.")
class BadgeAdminError:
    code: BadgeAdminErrorCode = strawberry.field(description="What was wrong.")
    message: str = strawberry.field(description="Human-readable explanation.")
    problems: list[FieldProblem] = strawberry.field(description="Each bad field, by path.")


def _error(error: InvalidBadgeRule | BadgeNotFound) -> BadgeAdminError:
    problems = getattr(error, "problems", [])
    return BadgeAdminError(
        code=BadgeAdminErrorCode(error.code),
        message=error.message,
        problems=[FieldProblem(path=p.path, message=p.message) for p in problems],
    )


def _badge_id(global_id: strawberry.ID, type_name: str) -> uuid.UUID:
    """The id of a badge or rule; NOT_FOUND (in the payload) for a malformed id."""
    found = find_id(global_id, type_name)
    if found is None:
        raise BadgeNotFound(f"there is no such {'rule' if type_name == 'BadgeRule' else 'badge'}")
    return found


@strawberry.type(description="The badge after the change.")
class BadgeSuccess:
    badge: Badge = strawberry.field(description="The badge.")


@strawberry.type(description="The rule after the change, and what a backfill awarded.")
class BadgeRuleSuccess:
    rule: BadgeRule = strawberry.field(description="The rule.")
    backfilled_awards: int = strawberry.field(
        description="Awards given retroactively (0 unless backfill was asked for)."
    )


BadgePayload = Annotated[
    BadgeSuccess | BadgeAdminError,
    strawberry.union("BadgePayload", description="Result of a badge change."),
]
BadgeRulePayload = Annotated[
    BadgeRuleSuccess | BadgeAdminError,
    strawberry.union("BadgeRulePayload", description="Result of a badge rule change."),
]


@strawberry.input(description="A new badge.")
class CreateBadgeInput:
    key: str = strawberry.field(description="Stable external key, unique.")
    name: str = strawberry.field(description="Name shown to learners.")
    description: str = strawberry.field(default="", description="What the badge is for.")
    media: JSON | None = strawberry.field(
        default=None, description="Images and other media, a JSON object; none when null."
    )


@strawberry.input(description="Fields to change; omitted fields stay as they are.")
class UpdateBadgeInput:
    name: str | None = strawberry.field(default=None, description="New name.")
    description: str | None = strawberry.field(default=None, description="New description.")
    media: JSON | None = strawberry.field(default=None, description="New media.")
    active: bool | None = strawberry.field(default=None, description="Whether it can be earned.")


@strawberry.input(description="A new rule awarding a badge.")
class CreateBadgeRuleInput:
    badge_id: strawberry.ID = strawberry.field(description="Global id of the badge.")
    key: str = strawberry.field(description="Stable external key, unique.")
    type: str = strawberry.field(description="Rule type, e.g. streak or section_completed.")
    criteria: JSON = strawberry.field(
        description="Criteria for the type, e.g. {days: 7}; name content nodes by global id "
        "(sectionId) or by key (sectionKey)."
    )
    backfill: bool = strawberry.field(
        default=False, description="Also award it now to learners who already qualify."
    )


@strawberry.type
class BadgeAdminMutation:
    @strawberry.mutation(description="Create a badge (admin only).")
    async def create_badge(
        self,
        info: Info,
        input: Annotated[CreateBadgeInput, strawberry.argument(description="The badge.")],
    ) -> BadgePayload:
        info.context.require_admin()
        try:
            async with info.context.database.transaction() as conn:
                record = await badge_admin.create_badge(
                    conn,
                    key=input.key,
                    name=input.name,
                    description=input.description,
                    media={} if input.media is None else input.media,
                )
        except InvalidBadgeRule as error:
            return _error(error)
        return BadgeSuccess(badge=Badge.from_row(record))

    @strawberry.mutation(description="Change or (de)activate a badge (admin only).")
    async def update_badge(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Global id of the badge.")],
        input: Annotated[UpdateBadgeInput, strawberry.argument(description="What to change.")],
    ) -> BadgePayload:
        info.context.require_admin()
        changes = {name: value for name, value in vars(input).items() if value is not None}
        try:
            async with info.context.database.transaction() as conn:
                record = await badge_admin.update_badge(
                    conn, badge_id=_badge_id(id, "Badge"), changes=changes
                )
        except (InvalidBadgeRule, BadgeNotFound) as error:
            return _error(error)
        return BadgeSuccess(badge=Badge.from_row(record))

    @strawberry.mutation(
        description="Add a rule to a badge (admin only); optionally award it retroactively."
    )
    async def create_badge_rule(
        self,
        info: Info,
        input: Annotated[CreateBadgeRuleInput, strawberry.argument(description="The rule.")],
    ) -> BadgeRulePayload:
        info.context.require_admin()
        try:
            async with info.context.database.transaction() as conn:
                record = await badge_admin.create_rule(
                    conn,
                    badge_id=_badge_id(input.badge_id, "Badge"),
                    key=input.key,
                    rule_type=input.type,
                    criteria=rule_criteria.from_client(input.criteria),
                    awards_from=info.context.now(),
                )
                awarded = (
                    await badge_backfill.backfill_rule(
                        conn, rule_id=record.id, policy=info.context.settings.streak_policy
                    )
                    if input.backfill
                    else 0
                )
        except (InvalidBadgeRule, BadgeNotFound) as error:
            return _error(error)
        return BadgeRuleSuccess(rule=BadgeRule.from_row(record), backfilled_awards=awarded)

    @strawberry.mutation(
        description="Activate or deactivate a rule (admin only); optionally backfill it."
    )
    async def set_badge_rule_active(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Global id of the rule.")],
        active: Annotated[bool, strawberry.argument(description="True to activate.")],
        backfill: Annotated[
            bool, strawberry.argument(description="On activation, award it retroactively.")
        ] = False,
    ) -> BadgeRulePayload:
        info.context.require_admin()
        try:
            async with info.context.database.transaction() as conn:
                record = await badge_admin.set_rule_active(
                    conn, rule_id=_badge_id(id, "BadgeRule"), active=active
                )
                awarded = (
                    await badge_backfill.backfill_rule(
                        conn, rule_id=record.id, policy=info.context.settings.streak_policy
                    )
                    if backfill and active
                    else 0
                )
        except BadgeNotFound as error:
            return _error(error)
        return BadgeRuleSuccess(rule=BadgeRule.from_row(record), backfilled_awards=awarded)
