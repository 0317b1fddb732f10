"""Request limits and validation: depth, aliases, tokens, directives, cost, introspection,
suggestions.

All of them run before execution, so a rejected query never reaches a resolver.
"""

import re
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DirectiveNode,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    ValidationContext,
    specified_rules,
)
from graphql import parse as parse_document
from graphql import validate as validate_document
from strawberry.extensions import max_aliases, query_depth_limiter
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from gql.query_cost import query_cost_rule
from gql.settings import Settings

STRAWBERRY_RULES = (MaybeNullValidationRule, OneOfInputValidationRule)


class ValidationCache:
    """Validation results by the document's identity (the parse cache, ``parse``, hands out
    the same DocumentNode for the same text). Not by equality: AST nodes are dataclasses that
    hash their whole tree, which cost more per request than validating from the cache."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = self.misses = 0
        # The schema and document are kept in the entry, so their ids stay theirs.
        self._entries: dict[
            tuple[int, int, tuple[type[ASTValidationRule], ...], bool],
            tuple[GraphQLSchema, DocumentNode, list[GraphQLError]],
        ] = {}

    def __call__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
        hide_suggestions: bool,
    ) -> list[GraphQLError]:
        key = (id(schema), id(document), rules, hide_suggestions)
        found = self._entries.get(key)
        if found is not None:
            self.hits += 1
            return found[2]
        self.misses += 1
        errors = validate_document(
            schema, document, (*rules, *STRAWBERRY_RULES), hide_suggestions=hide_suggestions
        )
        if len(self._entries) >= self.size:
            del self._entries[next(iter(self._entries))]  # the oldest
        self._entries[key] = (schema, document, errors)
        return errors


_validate = ValidationCache(512)


def parse(query: str, max_tokens: int) -> DocumentNode:
    """The document of ``query`` (at most ``max_tokens`` tokens), parsed once per text."""
    return _parse(query, max_tokens=max_tokens)


def validate(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool,
    *,
    named: bool,
) -> list[GraphQLError]:
    """The document's validation errors under ``rules`` (once per distinct document), and
    the spec's GetOperation() refusal of an unnamed choice among several operations
    (Strawberry would run the first)."""
    errors = _validate(schema, document, rules, hide_suggestions)
    if not named and _operations(document) > 1:
        errors = [*errors, GraphQLError(AMBIGUOUS_OPERATION)]
    return errors


# Parsed documents by text (and token bound): the same DocumentNode for every request of a
# text, which the validation cache and the shared execution plans rely on.
_parse = lru_cache(maxsize=512)(parse_document)


AMBIGUOUS_OPERATION = "Must provide operation name if query contains multiple operations."


def _operations(document: DocumentNode) -> int:
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


def max_directives_rule(max_directives: int) -> type[ASTValidationRule]:
    """A rule class refusing documents that use more than ``max_directives`` directives."""

    class MaxDirectivesRule(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.count = 0

        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            self.count += 1

        def leave_document(self, node: DocumentNode, *_: Any) -> None:
            if self.count > max_directives:
                self.report_error(
                    GraphQLError(
                        f"'{self.count}' exceeds maximum directive count of {max_directives}"
                    )
                )

    return MaxDirectivesRule


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
def _rules(
    max_depth: int,
    max_alias_count: int,
    max_directives: int,
    max_cost: int,
    list_size: int,
    introspection: bool,
) -> tuple[type[ASTValidationRule], ...]:
    # One set of rule classes per configuration: validation results are cached by rule
    # class, and Strawberry's QueryDepthLimiter and MaxAliasesLimiter extensions, built per
    # request, would bring new classes every time and the cache would never hit.
    return (
        query_depth_limiter.create_validator(max_depth, None),
        max_aliases.create_validator(max_alias_count),
        max_directives_rule(max_directives),
        query_cost_rule(max_cost, list_size),
        *(() if introspection else (NoSchemaIntrospectionCustomRule,)),
    )


def validation_rules(settings: Settings) -> tuple[type[ASTValidationRule], ...]:
    """The specification's rules and the server's limits, as ``settings`` configure them."""
    return (
        *specified_rules,
        *_rules(
            settings.max_depth,
            settings.max_aliases,
            settings.max_directives,
            settings.max_cost,
            settings.cost_list_size,
            settings.introspection_enabled,
        ),
    )
