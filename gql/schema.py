"""The schema: one Query (and later Mutation) type merged from the areas."""

from typing import Any

import strawberry

from gql import fast_execution
from gql.badges.schema import BadgeAdminMutation, BadgeQuery
from gql.badges.types import Badge, BadgeRule
from gql.content.schema import ContentQuery
from gql.content.types import Course, Section, Task, Theme
from gql.learning.enrollment import EnrollmentMutation
from gql.learning.submit_attempt import SubmitAttemptMutation
from gql.limits import execution_context_class, schema_extensions
from gql.queue.schema import QueueMutation
from gql.scalars import SCALAR_OVERRIDES
from gql.settings import Settings
from gql.viewer.schema import ViewerQuery
from gql.viewer.update_viewer import UpdateViewerMutation


@strawberry.type(description="Everything a client can read.")
class Query(ContentQuery, ViewerQuery, BadgeQuery):
    pass


@strawberry.type(description="Everything a client can change.")
class Mutation(
    SubmitAttemptMutation,
    EnrollmentMutation,
    UpdateViewerMutation,
    BadgeAdminMutation,
    QueueMutation,
):
    pass


class Schema(strawberry.Schema):
    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        # error_policy logs what deserves a log line (masked errors, with their id);
        # client errors are answers, not incidents.
        return None


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema with the limits and error policy that ``settings`` ask for."""
    schema = Schema(
        query=Query,
        mutation=Mutation,
        types=[Course, Section, Theme, Task, Badge, BadgeRule],
        extensions=schema_extensions(settings),
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=fast_execution.with_fast_paths(
            execution_context_class(settings)  # type: ignore[arg-type]
        ),
    )
    fast_execution.shortcut_prefetched(schema._schema)
    return schema
