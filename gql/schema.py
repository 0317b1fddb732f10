"""The schema: one Query (and later Mutation) type merged from the areas."""

import strawberry

from gql import fast_execution
from gql.badges.revoke_award import RevokeAwardMutation
from gql.badges.schema import BadgeAdminMutation, BadgeQuery
from gql.badges.types import Badge, BadgeRule
from gql.content.schema import ContentQuery
from gql.content.types import Course, Section, Task, Theme
from gql.learning.enrollment import EnrollmentMutation
from gql.learning.streak_freezes import StreakFreezeMutation
from gql.learning.submit_attempt import SubmitAttemptMutation
from gql.limits import execution_context_class
from gql.nodes import NodeQuery
from gql.queue.schema import QueueMutation
from gql.scalars import SCALAR_OVERRIDES
from gql.settings import Settings
from gql.viewer.schema import ViewerQuery
from gql.viewer.update_viewer import UpdateViewerMutation


@strawberry.type(description="Everything a client can read.")
class Query(ContentQuery, NodeQuery, ViewerQuery, BadgeQuery):
    pass


@strawberry.type(description="Everything a client can change.")
class Mutation(
    SubmitAttemptMutation,
    EnrollmentMutation,
    UpdateViewerMutation,
    BadgeAdminMutation,
    RevokeAwardMutation,
    QueueMutation,
    StreakFreezeMutation,
):
    pass


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema, with the executor that ``settings`` ask for. Its operations run through
    gql/operations.py, which applies the server's limits and error policy."""
    executor = execution_context_class(settings)
    schema = strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[Course, Section, Theme, Task, Badge, BadgeRule],
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=(
            fast_execution.with_fast_paths(executor)  # type: ignore[arg-type]
            if settings.fast_execution
            else executor
        ),
    )
    if settings.fast_execution:
        fast_execution.shortcut_prefetched(schema._schema)
    return schema
