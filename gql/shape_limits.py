"""Validation rules for the shape of a document: depth, aliases and directives.

Depth and aliases count through fragment spreads, as Strawberry's QueryDepthLimiter and
MaxAliasesLimiter do (same semantics, same messages), but each fragment is measured once:
theirs walk a fragment again at every spread, so a few dozen fragments that each spread the
next one twice take minutes, and an unknown spread is a KeyError. They run before the
specification's rules (gql/limits.py), so they must hold on any document that parsed.
"""

from collections.abc import Callable
from typing import Any

from graphql import (
    ASTValidationRule,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
)


class _Shape:
    """Depth and alias counts of selection sets, memoised per fragment."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.depths: dict[str, int] = {}
        self.aliases: dict[str, int] = {}
        self.in_progress: set[str] = set()

    def depth(self, node: SelectionSetNode) -> int:
        """The deepest level any selection sits at, its own selections being level 0.

        Introspection fields end a path (Strawberry's rule ignores them)."""
        deepest = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                if selection.selection_set and not selection.name.value.startswith("__"):
                    deepest = max(deepest, 1 + self.depth(selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.depth(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(
                    deepest, self._fragment(selection.name.value, self.depths, self.depth)
                )
        return deepest

    def alias_count(self, node: SelectionSetNode) -> int:
        """Aliased fields, a fragment's counted at each of its spreads."""
        total = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total += selection.alias is not None
                if selection.selection_set:
                    total += self.alias_count(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += self.alias_count(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value, self.aliases, self.alias_count)
        return total

    def _fragment(
        self, name: str, memo: dict[str, int], measure: Callable[[SelectionSetNode], int]
    ) -> int:
        fragment = self.fragments.get(name)
        # Unknown and cyclic spreads are other rules' errors: they add nothing here.
        if fragment is None or name in self.in_progress:
            return 0
        if name not in memo:
            self.in_progress.add(name)
            memo[name] = measure(fragment.selection_set)
            self.in_progress.discard(name)
        return memo[name]


def max_depth_rule(max_depth: int) -> type[ASTValidationRule]:
    """A rule class refusing operations nested more than ``max_depth`` fields deep."""

    class MaxDepthRule(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.shape = _Shape(context.document)

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> Any:
            if self.shape.depth(node.selection_set) > max_depth:
                name = node.name.value if node.name else "anonymous"
                self.report_error(
                    GraphQLError(f"'{name}' exceeds maximum operation depth of {max_depth}", node)
                )
            return self.SKIP

    return MaxDepthRule


def max_aliases_rule(max_aliases: int) -> type[ASTValidationRule]:
    """A rule class refusing documents whose operations hold more than ``max_aliases``."""

    class MaxAliasesRule(ASTValidationRule):
        def leave_document(self, node: DocumentNode, *_: Any) -> None:
            shape = _Shape(node)
            total = sum(
                shape.alias_count(definition.selection_set)
                for definition in node.definitions
                if isinstance(definition, OperationDefinitionNode)
            )
            if total > max_aliases:
                self.report_error(GraphQLError(f"{total} aliases found. Allowed: {max_aliases}"))

    return MaxAliasesRule


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
