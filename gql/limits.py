"""Request limits and validation: depth, aliases, tokens, directives, cost, introspection,
suggestions.

All of them run before execution, so a rejected query never reaches a resolver. The
limits run before the specification's rules, and validation stops after a few errors: a
document wrong in a thousand places costs no more than one wrong in ten.
"""

import re
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    specified_rules,
)
from graphql import parse as parse_document
from graphql import validate as validate_document
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from gql import shape_limits
from gql.query_cost import query_cost_rule
from gql.settings import Settings

STRAWBERRY_RULES = (MaybeNullValidationRule, OneOfInputValidationRule)


# The most errors a response lists. A document can be wrong in as many places as it has
# tokens; listing them all costs time and bytes, and the first few are what a client fixes.
MAX_ERRORS = 10
TOO_MANY_ERRORS = "Too many errors, error limit reached; the rest are not listed."

# Validation in phases, each run only when the ones before found nothing: the server's
# limits first (cheap, and linear in the document), then the specification's rules.
Phases = tuple[tuple[type[ASTValidationRule], ...], ...]


class ValidationCache:
    """Validation results by the document's identity (the parse cache, ``parse``, hands out
    the same DocumentNode for the same text). Not by equality: AST nodes are dataclasses that
    hash their whole tree, which cost more per request than validating from the cache."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = self.misses = 0
        # The schema and document are kept in the entry, so their ids stay theirs.
        self._entries: dict[
            tuple[int, int, Phases, bool],
            tuple[GraphQLSchema, DocumentNode, list[GraphQLError]],
        ] = {}

    def __call__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        phases: Phases,
        hide_suggestions: bool,
    ) -> list[GraphQLError]:
        key = (id(schema), id(document), phases, hide_suggestions)
        found = self._entries.get(key)
        if found is not None:
            self.hits += 1
            return found[2]
        self.misses += 1
        errors: list[GraphQLError] = []
        for rules in phases:
            # graphql-core adds one error saying it stopped: MAX_ERRORS in all.
            errors = validate_document(
                schema,
                document,
                rules,
                max_errors=MAX_ERRORS - 1,
                hide_suggestions=hide_suggestions,
            )
            if errors:
                break
        if len(self._entries) >= self.size:
            del self._entries[next(iter(self._entries))]  # the oldest
        self._entries[key] = (schema, document, errors)
        return errors


_validate = ValidationCache(512)


def parse(query: str, max_tokens: int) -> DocumentNode:
    """The document of ``query`` (at most ``max_tokens`` tokens), parsed once per text."""
    return _parse(query, max_tokens=max_tokens)


def cap_errors(errors: list[GraphQLError]) -> list[GraphQLError]:
    """At most MAX_ERRORS of ``errors`` (coded): the last one listed says the rest are not,
    with the code of the first left out."""
    if len(errors) <= MAX_ERRORS:
        return errors
    left_out = errors[MAX_ERRORS - 1]
    code = (left_out.extensions or {}).get("code", "GRAPHQL_VALIDATION_FAILED")
    return [*errors[: MAX_ERRORS - 1], GraphQLError(TOO_MANY_ERRORS, extensions={"code": code})]


def validate(
    schema: GraphQLSchema,
    document: DocumentNode,
    phases: Phases,
    hide_suggestions: bool,
    *,
    named: bool,
) -> list[GraphQLError]:
    """The document's validation errors under ``phases`` (once per distinct document), and
    the spec's GetOperation() refusal of an unnamed choice among several operations
    (Strawberry would run the first)."""
    errors = _validate(schema, document, phases, hide_suggestions)
    if not named and _operations(document) > 1:
        errors = [*errors, GraphQLError(AMBIGUOUS_OPERATION)]
    return errors


# Parsed documents by text (and token bound): the same DocumentNode for every request of a
# text, which the validation cache and the shared execution plans rely on.
_parse = lru_cache(maxsize=512)(parse_document)


AMBIGUOUS_OPERATION = "Must provide operation name if query contains multiple operations."


def _operations(document: DocumentNode) -> int:
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


# Suggestions name fields, types, arguments and enum values a client did not ask about:
# a map of the schema for someone probing a server whose introspection is off.
SUGGESTION = re.compile(r"\s*Did you mean\b.*$", re.DOTALL)


class ExecutionWithoutSuggestions(StrawberryGraphQLCoreExecutionContext):
    """Coerces variables and arguments with graphql-core's ``hide_suggestions`` on."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        kwargs["hide_suggestions"] = True
        return super().build(*args, **kwargs)


def cut_suggestions(errors: list[GraphQLError]) -> None:
    """Cuts a hint off any message still carrying one (from code not honouring the flag)."""
    for error in errors:
        error.message = SUGGESTION.sub("", error.message)


def execution_context_class(settings: Settings) -> type[StrawberryGraphQLCoreExecutionContext]:
    """The executor: graphql-core's own, told to hide suggestions when they are off."""
    if settings.suggestions_enabled:
        return StrawberryGraphQLCoreExecutionContext
    return ExecutionWithoutSuggestions


@lru_cache(maxsize=64)
def _phases(
    max_depth: int,
    max_alias_count: int,
    max_directives: int,
    max_cost: int,
    list_size: int,
    introspection: bool,
) -> Phases:
    # One set of rule classes per configuration: validation results are cached by rule
    # class, and rules built per request would bring new classes every time and the cache
    # would never hit.
    return (
        (
            shape_limits.max_depth_rule(max_depth),
            shape_limits.max_aliases_rule(max_alias_count),
            shape_limits.max_directives_rule(max_directives),
            query_cost_rule(max_cost, list_size),
        ),
        (
            *specified_rules,
            *STRAWBERRY_RULES,
            *(() if introspection else (NoSchemaIntrospectionCustomRule,)),
        ),
    )


def validation_phases(settings: Settings) -> Phases:
    """The server's limits, then the specification's rules, as ``settings`` configure them."""
    return _phases(
        settings.max_depth,
        settings.max_aliases,
        settings.max_directives,
        settings.max_cost,
        settings.cost_list_size,
        settings.introspection_enabled,
    )
