"""GraphQL errors with a stable ``extensions.code``, and the policy for everything else.

Errors we raise on purpose are client errors and reach the client as they are. Parse and
validation errors stay readable. Anything else is masked: the client sees "Internal server
error" and an error id that is also in the server log next to the traceback.
"""

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionContext

log = logging.getLogger(__name__)


class ClientError(GraphQLError):
    code = "BAD_REQUEST"

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": self.code})


class Unauthenticated(ClientError):
    code = "UNAUTHENTICATED"


class Forbidden(ClientError):
    code = "FORBIDDEN"


class BadUserInput(ClientError):
    code = "BAD_USER_INPUT"


def _masked(error: GraphQLError) -> GraphQLError:
    error_id = uuid.uuid4().hex
    log.error(
        "internal error %s at %s",
        error_id,
        error.path,
        exc_info=(type(error.original_error), error.original_error, error.__traceback__)
        if error.original_error
        else None,
    )
    return GraphQLError(
        "Internal server error",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR", "errorId": error_id},
    )


def _with_code(error: GraphQLError, code: str) -> GraphQLError:
    # In place: on a parse failure Strawberry answers with the same error objects it
    # shows the extensions, but in another list.
    if not (error.extensions and "code" in error.extensions):
        error.extensions = {**(error.extensions or {}), "code": code}
    return error


def _classify(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, GraphQLError) or (original is None and error.path is None):
        if error.message.startswith("Syntax Error"):
            return _with_code(error, "GRAPHQL_PARSE_FAILED")
        if error.message.startswith("Variable "):
            return _with_code(error, "BAD_USER_INPUT")
        return _with_code(error, "GRAPHQL_VALIDATION_FAILED")
    if original is None and error.extensions and "code" in error.extensions:
        return error
    return _masked(error)


@contextmanager
def error_policy(context: ExecutionContext) -> Iterator[None]:
    """Around one operation: gives every error a code and masks the unexpected ones."""
    try:
        yield
    except GraphQLError as error:
        # A parse failure passes through the operation hooks on its way out.
        _classify(error)
        raise
    except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError):
        raise  # The HTTP layer answers these (405 for a mutation over GET).
    except Exception as error:
        # A bug before execution (an extension, a validation rule): Strawberry would
        # show its message; mask it like any other unexpected error.
        raise _masked(GraphQLError(str(error), original_error=error)) from error
    # Strawberry lists execution errors in pre_execution_errors too: classify each
    # error once, or a masked one is logged twice under two different ids.
    classified: dict[int, GraphQLError] = {}

    def once(found: GraphQLError) -> GraphQLError:
        if id(found) not in classified:
            classified[id(found)] = _classify(found)
        return classified[id(found)]

    for found in context.pre_execution_errors or ():
        once(found)
    result = context.result
    if result is not None and result.errors:
        result.errors = [once(found) for found in result.errors]
