"""Execution fast paths: plain leaf fields inline (behind graphql-core's documented
``execution_context_class`` hook), and prefetched values without a resolver call.

A course page has ~7,400 fields and most are plain leaves (``title``, ``status``, ...):
an attribute read and a scalar coercion. graphql-core spends several microseconds on each
(a Path, a ResolveInfo, Strawberry's resolver wrapper, awaitable checks, complete_value
dispatch). Here a field that Strawberry itself would resolve with ``getattr`` and whose
type is a scalar or enum is read and coerced directly. Anything else, and any value that
would produce an error (null in a non-null field, a value the scalar refuses), takes the
standard path, so data, errors and their paths are exactly what graphql-core gives.

Pinned to graphql-core 3.3 (``execute_fields``' signature); tests compare both executors.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from graphql import (
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    is_leaf_type,
)
from graphql.execution.executor import Executor as ExecutionContext
from graphql.pyutils import Undefined

F = TypeVar("F", bound=Callable[..., Any])
STRAWBERRY_FIELD = "strawberry-definition"
_MISSING = object()


@dataclass(frozen=True, slots=True)
class _Leaf:
    attribute: str
    leaf_type: GraphQLLeafType
    non_null: bool


def _plan(parent_type: GraphQLObjectType, field_name: str) -> _Leaf | None:
    field = parent_type.fields.get(field_name)
    if field is None or field.args or not getattr(field.resolve, "_is_default", False):
        return None
    definition = field.extensions.get(STRAWBERRY_FIELD)
    if definition is None or definition.base_resolver is not None:
        return None
    field_type, non_null = field.type, False
    if isinstance(field_type, GraphQLNonNull):
        field_type, non_null = field_type.of_type, True
    if not is_leaf_type(field_type):
        return None
    return _Leaf(definition.python_name, field_type, non_null)


class LeafFastPath(ExecutionContext):
    """Resolves plain scalar and enum fields inline; everything else as graphql-core does."""

    # (schema id, type name, field name) -> plan; the schema outlives every request.
    _plans: dict[tuple[int, str, str], _Leaf | None] = {}

    def _leaf(self, parent_type: GraphQLObjectType, field_name: str) -> _Leaf | None:
        key = (id(self.schema), parent_type.name, field_name)
        try:
            return self._plans[key]
        except KeyError:
            plan = self._plans[key] = _plan(parent_type, field_name)
            return plan

    def _selection_plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: dict[str, Any]
    ) -> list[tuple[str, Any, _Leaf | None]]:
        # graphql-core memoises the grouped field set of a list's items, so the 1,000
        # tasks of a page share one plan; keep the set alive so its id stays unique.
        cache: dict[int, tuple[Any, list[tuple[str, Any, _Leaf | None]]]]
        cache = self.__dict__.setdefault("_selection_plans", {})
        found = cache.get(id(grouped_field_set))
        if found is not None:
            return found[1]
        plan = [
            (
                name,
                details,
                None
                if details[0].node.arguments
                else self._leaf(parent_type, details[0].node.name.value),
            )
            for name, details in grouped_field_set.items()
        ]
        cache[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def execute_fields(  # type: ignore[override]
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Any,
        grouped_field_set: dict[str, Any],
        position_context: Any,
    ) -> Any:
        manager = self.middleware_manager
        if manager is not None and manager.middlewares:
            # A resolve hook (middleware) must see every field: no shortcuts then.
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        values: dict[str, Any] = {}
        slow: dict[str, Any] = {}
        for response_name, details, plan in self._selection_plan(parent_type, grouped_field_set):
            if plan is not None:
                value = getattr(source_value, plan.attribute, _MISSING)
                if value is None:
                    if not plan.non_null:
                        values[response_name] = None
                        continue
                elif value is not _MISSING:
                    try:
                        coerced = plan.leaf_type.coerce_output_value(value)
                    except Exception:  # noqa: BLE001 - the standard path reports it
                        coerced = Undefined
                    if coerced is not Undefined and coerced is not None:
                        values[response_name] = coerced
                        continue
            slow[response_name] = details
        if not slow:
            return values
        rest = super().execute_fields(parent_type, source_value, path, slow, position_context)
        if self.is_awaitable(rest):
            return _merge_later(grouped_field_set, values, rest)
        return _merged(grouped_field_set, values, rest)


@cache
def with_leaf_fast_path(base: type[ExecutionContext]) -> type[ExecutionContext]:
    """``base`` with plain leaf fields resolved inline."""
    return type(f"LeafFastPath{base.__name__}", (LeafFastPath, base), {})


def _merged(order: dict[str, Any], fast: dict[str, Any], slow: dict[str, Any]) -> dict[str, Any]:
    # Keep the response in selection order: fast and slow fields interleave.
    return {
        name: fast[name] if name in fast else slow[name]
        for name in order
        if name in fast or name in slow
    }


async def _merge_later(
    order: dict[str, Any], fast: dict[str, Any], slow: Awaitable[dict[str, Any]]
) -> dict[str, Any]:
    return _merged(order, fast, await slow)


def prefetched(attribute: str) -> Callable[[F], F]:
    """Mark a resolver whose value may already sit on the object as ``attribute``.

    When it does (not None), the field is answered from it without calling the resolver
    or building Strawberry's Info; otherwise the resolver runs as usual.
    """

    def mark(resolver: F) -> F:
        resolver.__prefetched__ = attribute  # type: ignore[attr-defined]
        return resolver

    return mark


def shortcut_prefetched(schema: GraphQLSchema) -> None:
    """Give every field marked with ``prefetched`` a raw resolver reading the attribute."""
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field in graphql_type.fields.values():
            definition = field.extensions.get(STRAWBERRY_FIELD)
            resolver = getattr(definition, "base_resolver", None)
            attribute = getattr(getattr(resolver, "wrapped_func", None), "__prefetched__", None)
            if attribute is not None and field.resolve is not None:
                field.resolve = _read_or_resolve(attribute, field.resolve)


def _read_or_resolve(attribute: str, resolve: Callable[..., Any]) -> Callable[..., Any]:
    def read_or_resolve(source: Any, info: Any, **args: Any) -> Any:
        value = getattr(source, attribute, None)
        return resolve(source, info, **args) if value is None else value

    return read_or_resolve
