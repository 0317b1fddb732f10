"""Which fields and arguments of the committed schema the suite's operations exercise.

Every operation the tests send through ``GraphQLClient`` is read against ``schema.graphql``
(the SDL clients generate code from), and the fields and arguments it selects count as
exercised when the response has data and no error at all. tests/test_field_coverage.py,
run last, fails listing each field or argument that no operation exercised.
"""

from functools import cache
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    build_schema,
    parse,
    visit,
)

from tests.test_schema_file import SCHEMA_FILE

EXERCISED: set[str] = set()


@cache
def committed_schema() -> GraphQLSchema:
    return build_schema(SCHEMA_FILE.read_text())


class _Selections(Visitor):
    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.found: set[str] = set()

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        parent = self.type_info.get_parent_type()
        if parent is None or node.name.value.startswith("__"):
            return
        coordinate = f"{parent.name}.{node.name.value}"
        self.found.add(coordinate)
        self.found.update(f"{coordinate}({a.name.value}:)" for a in node.arguments or ())


def record(query: str, body: Any) -> None:
    """Count ``query``'s selections as exercised if ``body`` answered them without error."""
    if not isinstance(body, dict) or body.get("errors") or not body.get("data"):
        return
    try:
        document = parse(query)
    except GraphQLError:
        return
    type_info = TypeInfo(committed_schema())
    selections = _Selections(type_info)
    visit(document, TypeInfoVisitor(type_info, selections))
    EXERCISED.update(selections.found)


def schema_coordinates(schema: GraphQLSchema) -> set[str]:
    """Every field and argument of the schema's object and interface types, as
    ``Type.field`` and ``Type.field(argument:)``."""
    found = set()
    for type_ in schema.type_map.values():
        if type_.name.startswith("__") or not isinstance(
            type_, GraphQLObjectType | GraphQLInterfaceType
        ):
            continue
        for name, field in type_.fields.items():
            found.add(f"{type_.name}.{name}")
            found.update(f"{type_.name}.{name}({argument}:)" for argument in field.args)
    return found


def unexercised() -> list[str]:
    """Coordinates no recorded operation exercised. An interface's field counts when it was
    selected on the interface or on any type implementing it."""
    schema = committed_schema()
    missing = []
    for coordinate in sorted(schema_coordinates(schema) - EXERCISED):
        type_name, _, rest = coordinate.partition(".")
        type_ = schema.type_map[type_name]
        if isinstance(type_, GraphQLInterfaceType) and any(
            f"{impl.name}.{rest}" in EXERCISED for impl in schema.get_implementations(type_).objects
        ):
            continue
        missing.append(coordinate)
    return missing
