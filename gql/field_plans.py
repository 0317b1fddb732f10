"""What the fast executor (gql/fast_execution.py) works out once about fields and selections,
so that completing an object costs a loop over a list instead of graphql-core's dispatch.

A field's plan depends only on the schema; a selection's plan (the fields one object is asked
for, in order, each with its field plan) on the document and variables, and is shared by
every object completed against the same field group.
"""

from collections.abc import Callable
from dataclasses import dataclass
from math import isfinite
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    is_leaf_type,
)
from graphql.pyutils import Undefined

STRAWBERRY_FIELD = "strawberry-definition"
PREFETCHED = "__prefetched__"
MISSING: Any = object()
MAX_INT = 2**31 - 1
MIN_INT = -(2**31)
# Built-in scalars whose serialization returns a value of exactly this type unchanged
# (Int and Float after a range or finiteness check); graphql-core's serializers first test
# every other type a value could have.
UNCHANGED: dict[GraphQLLeafType, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
    GraphQLInt: int,
    GraphQLFloat: float,
}
_NO_MAPS: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class ByKey:
    """A resolver's value sits in the request's ``context.prefetched[map_name]`` under the
    object's ``key`` attribute."""

    map_name: str
    key: str


@dataclass(frozen=True, slots=True)
class Leaf:
    attribute: str
    leaf_type: GraphQLLeafType
    non_null: bool
    # For Strawberry enums: member -> GraphQL name (its own coercion scans every value).
    enum_names: dict[Any, str] | None = None
    # A value of exactly this type is its own serialization (see UNCHANGED).
    unchanged: type | None = None


@dataclass(frozen=True, slots=True)
class Nested:
    attribute: str
    return_type: GraphQLOutputType  # as declared (NonNull wrappers included)
    object_type: GraphQLObjectType
    item_type: GraphQLOutputType | None  # the list's item type; None for a single object
    # With a map: ``attribute`` is the key into the request's map of that name.
    map_name: str | None = None


FieldPlan = Leaf | Nested | None
Fields = list[tuple[str, Any, FieldPlan]]


@dataclass(frozen=True, slots=True)
class Selection:
    """The fields asked of one object, in order: (response name, field group, plan)."""

    fields: Fields
    # The plain leaves the selection starts with, and what names them for an object's memo:
    # a shared object (``fast_execution.share``) serializes them once per selection.
    leaf_key: tuple[Any, ...] | None
    after_leaves: Fields


def selection(
    parent_type: GraphQLObjectType,
    grouped_field_set: dict[str, Any],
    field_plan: Callable[[GraphQLObjectType, str], FieldPlan],
) -> Selection:
    fields: Fields = [
        (
            name,
            details,
            None
            if details[0].node.arguments
            else field_plan(parent_type, details[0].node.name.value),
        )
        for name, details in grouped_field_set.items()
    ]
    leading = 0
    while leading < len(fields) and type(fields[leading][2]) is Leaf:
        leading += 1
    leaf_key = None
    if leading:
        leaf_key = (
            parent_type.name,
            *((name, plan.attribute, plan.leaf_type.name) for name, _, plan in fields[:leading]),  # type: ignore[union-attr]
        )
    return Selection(fields, leaf_key, fields[leading:])


def field_plan(parent_type: GraphQLObjectType, field_name: str) -> FieldPlan:
    field = parent_type.fields.get(field_name)
    if field is None or field.args:
        return None
    marker = getattr(field.resolve, PREFETCHED, None)
    if isinstance(marker, str):
        return _nested(marker, None, field.type)
    if isinstance(marker, ByKey):
        return _nested(marker.key, marker.map_name, field.type)
    if not getattr(field.resolve, "_is_default", False):
        return None
    definition = field.extensions.get(STRAWBERRY_FIELD)
    if definition is None or definition.base_resolver is not None:
        return None
    leaf_type, non_null = _unwrap(field.type)
    if not is_leaf_type(leaf_type):
        # An object (or list of objects) held as a plain attribute: a mutation's payload.
        return _nested(definition.python_name, None, field.type)
    unchanged = UNCHANGED.get(leaf_type)
    return Leaf(definition.python_name, leaf_type, non_null, _enum_names(leaf_type), unchanged)


def leaf_value(plan: Leaf, value: Any) -> Any:
    """``value`` serialized as graphql-core would serialize it, or MISSING when graphql-core's
    own path must answer (an error to report, or null in a non-null field)."""
    if value is None:
        return MISSING if plan.non_null else None
    if value is MISSING:
        return MISSING
    kind = type(value)
    if kind is plan.unchanged:
        if kind is int:
            return value if MIN_INT <= value <= MAX_INT else MISSING
        if kind is float:
            return value if isfinite(value) else MISSING
        return value
    names = plan.enum_names
    if names is not None:
        try:
            found = names.get(value)
        except TypeError:  # unhashable: the standard path refuses it
            found = None
        if found is not None:
            return found
    try:
        coerced = plan.leaf_type.coerce_output_value(value)
    except Exception:  # noqa: BLE001 - the standard path reports it
        return MISSING
    return MISSING if coerced is Undefined or coerced is None else coerced


def prefetched_value(context: Any, map_name: str, key: Any) -> Any:
    """The value for ``key`` in the request's map ``map_name``; None when there is none."""
    maps = getattr(context, "prefetched", None) or _NO_MAPS
    found = maps.get(map_name)
    if found is None:
        return None
    try:
        return found.get(key)
    except TypeError:  # an unhashable key is in no map
        return None


def _unwrap(field_type: GraphQLOutputType) -> tuple[GraphQLOutputType, bool]:
    if isinstance(field_type, GraphQLNonNull):
        return field_type.of_type, True
    return field_type, False


def _enum_names(leaf_type: GraphQLLeafType) -> dict[Any, str] | None:
    wrapped = getattr(leaf_type, "wrapped_cls", None)
    if not isinstance(leaf_type, GraphQLEnumType) or wrapped is None:
        return None
    return {wrapped(value.value): name for name, value in leaf_type.values.items()}


def _nested(attribute: str, map_name: str | None, return_type: GraphQLOutputType) -> Nested | None:
    inner, _ = _unwrap(return_type)
    if isinstance(inner, GraphQLObjectType):
        return Nested(attribute, return_type, inner, None, map_name)
    if isinstance(inner, GraphQLList):
        item_type = inner.of_type
        item, _ = _unwrap(item_type)
        if isinstance(item, GraphQLObjectType):
            return Nested(attribute, return_type, item, item_type, map_name)
    return None
