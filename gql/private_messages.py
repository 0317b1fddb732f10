"""Request error messages that name no type, for a server whose schema is private.

With introspection off, graphql-core's validation and coercion messages would still map the
schema for a prober: "Cannot query field 'foo' on type 'Viewer'", "Field 'course' of type
'Course' must have a selection of subfields". Here each common message keeps the words the
client wrote (its field, argument, variable and fragment names) and drops the types; any
other message with a word that is a type of the schema becomes a generic one. Locations and
``extensions.code`` stay as they were.
"""

import re
from collections.abc import Callable, Collection

from graphql import GraphQLError

GENERIC = "The document is not valid here."

NAME = r"[_A-Za-z][_0-9A-Za-z]*"
WORD = re.compile(NAME)

Rewrite = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _rule(pattern: str, template: str) -> Rewrite:
    return re.compile(pattern, re.DOTALL), lambda match: template.format(*match.groups())


REWRITES: tuple[Rewrite, ...] = (
    _rule(rf"Cannot query field '({NAME})' on type ", "Cannot query field '{}' here."),
    _rule(rf"Field '({NAME})' must not have a selection ", "Field '{}' must not have a selection."),
    _rule(
        rf"Field '({NAME})' of type '[^']*' must have a selection of subfields",
        "Field '{}' must have a selection of subfields.",
    ),
    _rule(
        rf"Field '({NAME})' of type '[^']*' must have at least one field selected",
        "Field '{}' must have at least one field selected.",
    ),
    _rule(
        rf"Unknown argument '({NAME})' on field '[^'.]*\.({NAME})'",
        "Unknown argument '{}' on field '{}'.",
    ),
    _rule(
        rf"Argument '[^'.]*\.({NAME})\(({NAME}):\)' of type '[^']*' is required",
        "Field '{}' needs its argument '{}'.",
    ),
    _rule(
        rf"Argument '@({NAME})\(({NAME}):\)' of type '[^']*' is required",
        "Directive '@{}' needs its argument '{}'.",
    ),
    _rule(
        rf"Variable '\$({NAME})' of type '[^']*' used in position expecting",
        "Variable '${}' is used where its type is not accepted.",
    ),
    _rule(
        rf"Variable '\$({NAME})' of required type '[^']*' was not provided",
        "Variable '${}' is required, but it was not provided.",
    ),
    _rule(
        rf"Variable '\$({NAME})' of non-null type '[^']*' must not be null",
        "Variable '${}' must not be null.",
    ),
    _rule(
        rf"Variable '\$({NAME})' has invalid default value",
        "Variable '${}' has an invalid default value.",
    ),
    _rule(
        rf"Fields '({NAME})' conflict because ", "Fields '{}' conflict: give them other aliases."
    ),
    _rule(rf"Fragment '({NAME})' cannot be spread here ", "Fragment '{}' cannot be spread here."),
    _rule(r"Fragment cannot be spread here ", "This fragment cannot be spread here."),
    _rule(
        rf"Expected value of type '[^']*' to include required field '({NAME})'",
        "The value here lacks the required field '{}'.",
    ),
    _rule(
        rf"Expected value of type '[^']*' not to include unknown field '({NAME})'",
        "The value here has the unknown field '{}'.",
    ),
    _rule(r"Expected (a )?value of ", "The value here is not of the expected type."),
    _rule(r"Enum '[^']*' cannot represent ", "The value here is not one of the enum's values."),
    # Scalars: "Int cannot represent non-integer value", "Value cannot represent a UUID".
    _rule(rf"{NAME} cannot represent ", "The value here is not of the expected type."),
    _rule(r"Value '[^']*' does not exist in '[^']*' enum", "The value is not one of the enum's."),
)

# graphql-core's coercion error for a variable: the message of the error within, behind
# the variable's name and the path to the bad part of its value.
VARIABLE_VALUE = re.compile(
    rf"Variable '\$({NAME})' has invalid value(?: at ((?:\.{NAME}|\[\d+\])+))?: (.*)",
    re.DOTALL,
)


def without_types(errors: list[GraphQLError], type_names: Collection[str]) -> list[GraphQLError]:
    """``errors`` with graphql-core's messages made to name no type in ``type_names``.

    Errors that carry a code (ours) and masked ones are left alone; a rewritten error is a
    copy, since validation results are cached and shared between requests."""
    return [
        _copy(error, _message(error.message, type_names)) if _rewritable(error) else error
        for error in errors
    ]


def _rewritable(error: GraphQLError) -> bool:
    original = error.original_error
    return (
        not (error.extensions and "code" in error.extensions)
        and (original is None or isinstance(original, GraphQLError))
        # A syntax error quotes only tokens of the client's own text.
        and not error.message.startswith("Syntax Error")
    )


def _message(message: str, type_names: Collection[str]) -> str:
    variable = VARIABLE_VALUE.match(message)
    if variable:
        name, path, inner = variable.groups()
        where = f" at '{name}{path}'" if path else ""
        return f"Variable '${name}' has an invalid value{where}: {_message(inner, type_names)}"
    for pattern, rewrite in REWRITES:
        match = pattern.match(message)
        if match:
            return rewrite(match)
    if any(name in type_names for name in WORD.findall(message)):
        return GENERIC
    return message


def _copy(error: GraphQLError, message: str) -> GraphQLError:
    if message == error.message:
        return error
    return GraphQLError(
        message,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        error.original_error,
        error.extensions,
    )
