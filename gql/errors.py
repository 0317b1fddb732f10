"""GraphQL errors with a stable ``extensions.code``, and the policy for everything else.

Errors we raise on purpose are client errors and reach the client as they are. Parse and
validation errors stay readable. Anything else is masked: the client sees "Internal server
error" and an error id that is also in the server log next to the traceback.
"""

import logging
import uuid

from graphql import GraphQLError

from db import faults

log = logging.getLogger(__name__)

# graphql-core's errors about the variables' values, its "stopped after too many" included.
VARIABLE_ERRORS = ("Variable ", "Too many errors processing variables")


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


class ServiceUnavailable(ClientError):
    """The database cannot serve right now: retry later (HTTP 503 with Retry-After)."""

    code = "SERVICE_UNAVAILABLE"


class Timeout(ClientError):
    """A statement ran past the server's statement timeout; it was stopped and rolled back."""

    code = "TIMEOUT"


UNAVAILABLE_MESSAGE = "the service is briefly unavailable: retry later"
TIMEOUT_MESSAGE = "the operation took too long and was stopped"


def _fault(error: GraphQLError, fault: faults.Fault) -> GraphQLError:
    """An error from the database being away or too slow: coded for the client to retry,
    logged as one line without the traceback (it is no bug)."""
    log.warning("database %s at %s: %s", fault, error.path, type(error.original_error).__name__)
    kind = ServiceUnavailable if fault == "unavailable" else Timeout
    message = UNAVAILABLE_MESSAGE if fault == "unavailable" else TIMEOUT_MESSAGE
    return GraphQLError(message, nodes=error.nodes, path=error.path, extensions={"code": kind.code})


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
    if not (error.extensions and "code" in error.extensions):
        error.extensions = {**(error.extensions or {}), "code": code}
    return error


def _classify(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, GraphQLError) or (original is None and error.path is None):
        if error.message.startswith("Syntax Error"):
            return _with_code(error, "GRAPHQL_PARSE_FAILED")
        if error.message.startswith(VARIABLE_ERRORS):
            return _with_code(error, "BAD_USER_INPUT")
        return _with_code(error, "GRAPHQL_VALIDATION_FAILED")
    if original is None and error.extensions and "code" in error.extensions:
        return error
    fault = faults.classify(original) if original is not None else None
    if fault is not None:
        return _fault(error, fault)
    return _masked(error)


def apply_error_policy(errors: list[GraphQLError]) -> list[GraphQLError]:
    """Every error with a code: client errors as they are, parse and validation errors
    readable, anything else masked (and logged with its id)."""
    return [_classify(error) for error in errors]
