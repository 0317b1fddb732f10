"""Running one GraphQL operation: parse, choose the operation, validate, execute, and the
error policy over every error, in that order (Strawberry's).

The server runs operations itself rather than through Strawberry's ``Schema.execute``.
Strawberry still builds the schema, converts arguments and wraps resolvers, and the executor
is the schema's (gql/fast_execution.py). Its request pipeline, though, creates an execution
context, instantiates the extensions and enters a context manager per stage for every
request, a large share of a small operation's time (docs/performance.md). Here the stages
are plain calls. The schema carries no extensions, so every transport runs
its operations through ``Operations.run``.
"""

from collections.abc import Callable, Collection
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    execute,
)
from strawberry import Schema
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from gql import limits, private_messages, query_cost, tracing
from gql.errors import apply_error_policy
from gql.rate_limits import RateLimited
from gql.request_log import record_operation
from gql.settings import Settings


class Operations:
    """Runs operations on one schema with the server's limits and error policy."""

    def __init__(self, schema: Schema, settings: Settings, tracer: Any = None) -> None:
        self.schema = schema._schema
        self.tracer = tracer
        self.executor = schema.execution_context_class
        self.max_tokens = settings.max_tokens
        self.phases = limits.validation_phases(settings)
        self.hide_suggestions = not settings.suggestions_enabled
        self.list_size = settings.cost_list_size
        # Without introspection the schema is private: no message names one of its types.
        self.private_types = (
            None if settings.introspection_enabled else frozenset(self.schema.type_map)
        )

    async def run(
        self,
        query: str,
        *,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
        allowed: Collection[OperationType],
        admit: Callable[[int], None] | None = None,
    ) -> ExecutionResult:
        """The operation's result, every error in it coded (and masked when unexpected).

        Raises CannotGetOperationTypeError when the document has no operation by that name
        (or none at all), and InvalidOperationTypeError when ``allowed`` excludes its type:
        the transport answers those. ``admit`` gets a valid operation's estimated cost before
        it runs, and may refuse it by raising (rate limits).
        """
        try:
            document = limits.parse(query, self.max_tokens)
        except GraphQLError as error:
            return self._failed([error])
        except Exception as error:  # noqa: BLE001 - a bug in parsing: masked, logged
            return self._failed([GraphQLError(str(error), original_error=error)])
        operation = _operation(document, operation_name)
        if operation is None:
            raise CannotGetOperationTypeError(operation_name)
        operation_type = OperationType(operation.operation.value)
        if operation_type not in allowed:
            raise InvalidOperationTypeError(operation_type)
        name = operation_name if operation_name is not None else _name(operation)
        record_operation(name, operation_type)
        try:
            errors = limits.validate(
                self.schema,
                document,
                self.phases,
                self.hide_suggestions,
                named=operation_name is not None,
            )
            if errors:
                return self._failed(errors)
            cost = (
                query_cost.estimate(self.schema, document, operation, self.list_size)
                if admit is not None or self.tracer is not None
                else None
            )
            if admit is not None and cost is not None:
                admit(cost)
            with tracing.operation_span(self.tracer, name, operation_type.value, cost):
                outcome = execute(
                    self.schema,
                    document,
                    variable_values=variables,
                    operation_name=operation_name,
                    context_value=context,
                    is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
                    executor_class=self.executor,
                    max_coercion_errors=limits.MAX_ERRORS - 1,
                )
                result = outcome if isinstance(outcome, ExecutionResult) else await outcome
        except GraphQLError as error:
            return self._failed([error])
        except RateLimited:
            raise
        except Exception as error:  # noqa: BLE001 - a bug outside resolvers: masked, logged
            return self._failed([GraphQLError(str(error), original_error=error)])
        if result.errors:
            result.errors = self._policy(result.errors)
        return result

    def _failed(self, errors: list[GraphQLError]) -> ExecutionResult:
        """A result without data: the operation did not run (or could not finish)."""
        return ExecutionResult(data=None, errors=self._policy(errors))

    def _policy(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        if self.hide_suggestions:
            limits.cut_suggestions(errors)
        if self.private_types is not None:
            errors = private_messages.without_types(errors, self.private_types)
        return limits.cap_errors(apply_error_policy(errors))


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation named ``name``, or the first one when no name is given."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            name is None or (definition.name is not None and definition.name.value == name)
        ):
            return definition
    return None


def _name(operation: OperationDefinitionNode) -> str | None:
    return operation.name.value if operation.name is not None else None
