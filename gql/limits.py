"""Request limits and validation: depth, aliases, tokens, directives, cost, introspection,
suggestions.

All of them run before execution, so a rejected query never reaches a resolver.
"""

import re
from collections.abc import Callable, Iterator
from functools import lru_cache, partial
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
    parse,
    validate,
)
from strawberry.extensions import (
    SchemaExtension,
    max_aliases,
    query_depth_limiter,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import ExecutionContext

from gql.errors import error_policy
from gql.query_cost import query_cost_rule
from gql.request_log import record_operation
from gql.settings import Settings

STRAWBERRY_RULES = (MaybeNullValidationRule, OneOfInputValidationRule)


class ValidationCache:
    """Validation results by the document's identity (ParserCache hands out the same
    DocumentNode for the same text). Not by equality: AST nodes are dataclasses that hash
    their whole tree, which cost more per request than the rest of this extension."""

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
        errors = validate(
            schema, document, (*rules, *STRAWBERRY_RULES), hide_suggestions=hide_suggestions
        )
        if len(self._entries) >= self.size:
            del self._entries[next(iter(self._entries))]  # the oldest
        self._entries[key] = (schema, document, errors)
        return errors


_validate = ValidationCache(512)


class RequestPolicies(SchemaExtension):
    """The server's policies around every request, in one extension: the error policy
    around the operation; parsing (bounded, cached); validation (once per distinct
    document, with the server's rules, optionally without "Did you mean" hints); the
    operation's name on the request record; and hints cut off any message still carrying
    one.

    One extension rather than one per policy (and rather than Strawberry's
    MaxTokensLimiter, ParserCache and AddValidationRules): Strawberry wraps every hook of
    every extension in a context manager per request, which cost a small query ~20% of its
    time with seven of them and ~4% with four.
    """

    def __init__(
        self,
        *,
        max_tokens: int,
        rules: tuple[type[ASTValidationRule], ...],
        hide_suggestions: bool,
    ) -> None:
        self.max_tokens = max_tokens
        self.rules = rules
        self.hide_suggestions = hide_suggestions

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        with error_policy(context):
            yield
            if self.hide_suggestions:
                _cut_suggestions(context)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        if context.query:  # without one, Strawberry raises MissingQueryError
            context.graphql_document = _parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        errors = _validate(
            context.schema._schema,
            context.graphql_document,
            (*context.validation_rules, *self.rules),
            self.hide_suggestions,
        )
        # Strawberry would run the first operation; the spec's GetOperation() refuses. The
        # name the client gave is kept only privately (an InitVar); a test pins it.
        named = context._provided_operation_name is not None
        if not named and _operations(context.graphql_document) > 1:
            errors = [*errors, GraphQLError(AMBIGUOUS_OPERATION)]
        context.pre_execution_errors = errors
        record_operation(context)
        yield


# Parsed documents by text (and parse options): the same DocumentNode for every request of
# a text, which the validation cache and the shared execution plans rely on.
_parse = lru_cache(maxsize=512)(parse)


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


def _cut_suggestions(context: ExecutionContext) -> None:
    """Cuts a hint off any message still carrying one (from code not honouring the flag)."""
    result_errors = context.result.errors if context.result is not None else None
    for error in (*(context.pre_execution_errors or ()), *(result_errors or ())):
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


def schema_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """Factories of the extensions every request runs with, configured by ``settings``."""
    rules = _rules(
        settings.max_depth,
        settings.max_aliases,
        settings.max_directives,
        settings.max_cost,
        settings.cost_list_size,
        settings.introspection_enabled,
    )
    return [
        partial(
            RequestPolicies,
            max_tokens=settings.max_tokens,
            rules=rules,
            hide_suggestions=not settings.suggestions_enabled,
        )
    ]
