"""A validation rule that estimates what a query costs and refuses it above a maximum.

Every field costs 1 each time it can appear in the response, so lists multiply: a list
field multiplies its selection by its page size (``first``/``last``: a literal, else the
variable's default, else the connection's default page) or, for lists without paging and
sizes known only at run time, by an assumed size.
A connection's ``edges``/``nodes`` take the page size of the field that returns the
connection. Introspection fields cost nothing here; their own switch governs them.

Cost is linear in the multiplier, so each fragment is costed once per page size and then
scaled: a document of fragments that spread each other many times stays cheap to check.
"""

from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

from gql import paging

PAGE_ARGUMENTS = ("first", "last")
CONNECTION_LISTS = ("edges", "nodes")


class _Estimate:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variable_defaults: dict[str, Any],
        list_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variable_defaults = variable_defaults
        self.list_size = list_size
        self.fragment_costs: dict[tuple[str, int | None], int] = {}
        self.in_progress: set[str] = set()

    def selection_set(self, node: SelectionSetNode, parent: Any, page: int | None) -> int:
        total = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                type_ = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(selection.selection_set, type_, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, page)
        return total

    def fragment(self, name: str, page: int | None) -> int:
        fragment = self.fragments.get(name)
        # Unknown or cyclic spreads are the errors of other rules; they cost nothing here.
        if fragment is None or name in self.in_progress:
            return 0
        key = (name, page)
        if key not in self.fragment_costs:
            self.in_progress.add(name)
            type_ = self.schema.get_type(fragment.type_condition.name.value)
            self.fragment_costs[key] = self.selection_set(fragment.selection_set, type_, page)
            self.in_progress.discard(name)
        return self.fragment_costs[key]

    def field(self, node: FieldNode, parent: Any, page: int | None) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        own_page = self.page_size(node, definition)
        if is_list_type(get_nullable_type(definition.type)):
            if name in CONNECTION_LISTS and page is not None:
                factor = page
            else:
                factor = own_page if own_page is not None else self.list_size
            child_page = None
        else:
            factor, child_page = 1, own_page
        if node.selection_set is None:
            return 1
        children = self.selection_set(
            node.selection_set, get_named_type(definition.type), child_page
        )
        return 1 + factor * children

    def page_size(self, node: FieldNode, definition: GraphQLField) -> int | None:
        if not any(argument in definition.args for argument in PAGE_ARGUMENTS):
            return None
        for argument in PAGE_ARGUMENTS:
            given = next((a.value for a in node.arguments or () if a.name.value == argument), None)
            if isinstance(given, VariableNode):
                given = self.variable_defaults.get(given.name.value)
                if given is None:
                    return self.list_size  # the size is known only at run time
            if isinstance(given, IntValueNode):
                return max(int(given.value), 0)
        # Neither size given: the connection's own default (gql/paging.py).
        return paging.DEFAULT_PAGE


def estimate(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    list_size: int,
) -> int:
    """The estimated cost of ``operation`` in a valid ``document`` (what rate limits pour)."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    return _cost(schema, fragments, operation, list_size)


def _cost(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    operation: OperationDefinitionNode,
    list_size: int,
) -> int:
    root = schema.get_root_type(operation.operation)
    assert root is not None, "validation refuses an operation type the schema lacks"
    defaults = {
        definition.variable.name.value: definition.default_value
        for definition in operation.variable_definitions or ()
    }
    return _Estimate(schema, fragments, defaults, list_size).selection_set(
        operation.selection_set, root, None
    )


def query_cost_rule(max_cost: int, list_size: int) -> type[ASTValidationRule]:
    """A rule class refusing operations whose estimated cost exceeds ``max_cost``."""

    class QueryCostRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.fragments = {
                definition.name.value: definition
                for definition in context.document.definitions
                if isinstance(definition, FragmentDefinitionNode)
            }

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> Any:
            if self.context.schema.get_root_type(node.operation) is None:
                return self.SKIP
            cost = _cost(self.context.schema, self.fragments, node, list_size)
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"The query's estimated cost is {cost}, above the maximum of"
                        f" {max_cost}: ask for smaller pages or fewer nested lists.",
                        node,
                    )
                )
            return self.SKIP

    return QueryCostRule
