"""revokeAward: an admin takes an award back, with a reason kept for audit."""

import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from domain import award_revocation
from domain.errors import AwardRevocationRefused
from gql.badges import criteria as rule_criteria
from gql.badges.types import Badge
from gql.content.types import Info
from gql.errors import BadUserInput
from gql.ids import parse_key, to_global_key


@strawberry.enum(description="Why an award was not revoked.")
class RevokeAwardErrorCode(Enum):
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="There is no award with that id.")
    ALREADY_REVOKED = strawberry.enum_value(
        "ALREADY_REVOKED", description="The award was revoked before; the first revocation stays."
    )
    NOT_ADMIN = strawberry.enum_value("NOT_ADMIN", description="Only an admin can revoke awards.")
    INVALID_REASON = strawberry.enum_value(
        "INVALID_REASON",
        description="The reason is empty, longer than 500 characters or holds a control character.",
    )


@strawberry.type(description="The award was not revoked; nothing was written.")
class RevokeAwardError:
    code: RevokeAwardErrorCode = strawberry.field(description="What was wrong.")
    message: str = strawberry.field(description="Human-readable explanation.")


@strawberry.type(
    description="A revoked award as kept for audit. It is no longer among the learner's "
    "badges, its global id no longer resolves through `node`, and the badge is never awarded "
    "again in the same context."
)
class AwardRevocation:
    id: strawberry.ID = strawberry.field(
        description="Global id the award had (`Award.id`); one award has one revocation."
    )
    learner_id: uuid.UUID = strawberry.field(description="The learner who held it.")
    badge_db_id: strawberry.Private[uuid.UUID]
    context: JSON = strawberry.field(description="What it had been earned for.")
    awarded_at: datetime = strawberry.field(description="When it had been earned.")
    revoked_at: datetime = strawberry.field(description="When it was revoked.")
    revoked_by: uuid.UUID = strawberry.field(description="The admin who revoked it.")
    reason: str = strawberry.field(description="Why it was revoked.")

    @classmethod
    def from_revocation(cls, found: award_revocation.Revocation) -> "AwardRevocation":
        return cls(
            id=strawberry.ID(
                to_global_key("Award", found.user_id, found.badge_id, found.context_key)
            ),
            learner_id=found.user_id,
            badge_db_id=found.badge_id,
            context=rule_criteria.to_client(found.context),
            awarded_at=found.awarded_at,
            revoked_at=found.revoked_at,
            revoked_by=found.revoked_by,
            reason=found.reason,
        )

    @strawberry.field(description="The badge.")
    async def badge(self, info: Info) -> Badge | None:
        row = await info.context.loaders.badge_by_id.load(self.badge_db_id)
        return Badge.from_row(row) if row else None


@strawberry.type(description="The award is revoked.")
class RevokeAwardSuccess:
    revocation: AwardRevocation = strawberry.field(description="The revocation, as recorded.")


RevokeAwardPayload = Annotated[
    RevokeAwardSuccess | RevokeAwardError,
    strawberry.union("RevokeAwardPayload", description="Result of revoking an award."),
]


@strawberry.input(description="The award to revoke, and why.")
class RevokeAwardInput:
    award_id: strawberry.ID = strawberry.field(description="Global id of the award (`Award.id`).")
    reason: str = strawberry.field(
        description="Why, kept for audit: 1 to 500 characters after trimming white space."
    )


def _award_key(global_id: strawberry.ID) -> tuple[uuid.UUID, uuid.UUID, str]:
    try:
        user, badge, context_key = parse_key(global_id, "Award", 3)
        if "\x00" in context_key:  # no stored key holds one, and PostgreSQL cannot take it
            raise ValueError(context_key)
        return uuid.UUID(user), uuid.UUID(badge), context_key
    except (BadUserInput, ValueError):
        raise AwardRevocationRefused("NOT_FOUND", "there is no such award") from None


@strawberry.type
class RevokeAwardMutation:
    @strawberry.mutation(
        description="Revoke a learner's award (admin only): it leaves their badges and counts, "
        "is kept for audit with who, when and why, and is never awarded again for the same "
        "badge and context, by a replay, a backfill or a later attempt."
    )
    async def revoke_award(
        self,
        info: Info,
        input: Annotated[RevokeAwardInput, strawberry.argument(description="The award.")],
    ) -> RevokeAwardPayload:
        admin_id = info.context.user_id
        identity = info.context.identity
        try:
            if identity is None or not identity.is_admin:
                raise AwardRevocationRefused("NOT_ADMIN", "this operation needs the admin role")
            award_revocation.check_reason(input.reason)
            user_id, badge_id, context_key = _award_key(input.award_id)
            async with info.context.database.transaction() as conn:
                found = await award_revocation.revoke_award(
                    conn,
                    user_id=user_id,
                    badge_id=badge_id,
                    context_key=context_key,
                    revoked_by=admin_id,
                    reason=input.reason,
                    now=info.context.now(),
                )
        except AwardRevocationRefused as error:
            return RevokeAwardError(code=RevokeAwardErrorCode(error.code), message=error.message)
        return RevokeAwardSuccess(revocation=AwardRevocation.from_revocation(found))
