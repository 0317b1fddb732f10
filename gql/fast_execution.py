"""Execution fast paths behind graphql-core's documented ``execution_context_class`` hook.

A course page has ~7,400 fields. graphql-core spends several microseconds on each (a Path,
a ResolveInfo, Strawberry's resolver wrapper, awaitable checks, complete_value dispatch),
many times what reading an attribute costs. Two kinds of field skip that machinery:

- plain leaves: a field Strawberry would resolve with ``getattr`` whose type is a scalar or
  enum is read and coerced inline;
- prefetched values: a resolver marked ``@prefetched("attr")`` whose object already holds
  the value (an object, or a list of objects) is not called; the value's sub-fields are
  executed directly, with graphql-core's own error handling at every level. A resolver
  marked ``@prefetched_by_key("map", "attr")`` is answered the same way from a per-request
  map, ``context.prefetched["map"][obj.attr]``: objects shared by many requests (a cached
  course tree) carry no per-request values themselves.

A value that would produce an error (null in a non-null leaf, a value the scalar refuses, an
object of the wrong type) takes the standard path, so data, errors and paths are exactly
graphql-core's; tests run both executors on broken values and compare. Written against
graphql-core 3.3 (``Executor.execute_fields`` and friends; pinned in the lock).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar, cast

from graphql import (
    GraphQLEnumType,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    is_leaf_type,
)
from graphql.execution.executor import Executor
from graphql.pyutils import Path, Undefined
from graphql.pyutils.gather_with_cancel import gather_with_cancel

F = TypeVar("F", bound=Callable[..., Any])
STRAWBERRY_FIELD = "strawberry-definition"
PREFETCHED = "__prefetched__"
_MISSING = object()
_NO_MAPS: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class _ByKey:
    """A resolver's value sits in the request's ``context.prefetched[map_name]`` under the
    object's ``key`` attribute."""

    map_name: str
    key: str


@dataclass(frozen=True, slots=True)
class _Leaf:
    attribute: str
    leaf_type: GraphQLLeafType
    non_null: bool
    # For Strawberry enums: member -> GraphQL name (its own coercion scans every value).
    enum_names: dict[Any, str] | None = None


@dataclass(frozen=True, slots=True)
class _Nested:
    attribute: str
    return_type: GraphQLOutputType  # as declared (NonNull wrappers included)
    object_type: GraphQLObjectType
    item_type: GraphQLOutputType | None  # the list's item type; None for a single object
    # With a map: ``attribute`` is the key into the request's map of that name.
    map_name: str | None = None


def _unwrap(field_type: GraphQLOutputType) -> tuple[GraphQLOutputType, bool]:
    if isinstance(field_type, GraphQLNonNull):
        return field_type.of_type, True
    return field_type, False


def _plan(parent_type: GraphQLObjectType, field_name: str) -> _Leaf | _Nested | None:
    field = parent_type.fields.get(field_name)
    if field is None or field.args:
        return None
    marker = getattr(field.resolve, PREFETCHED, None)
    if isinstance(marker, str):
        return _nested_plan(marker, None, field.type)
    if isinstance(marker, _ByKey):
        return _nested_plan(marker.key, marker.map_name, field.type)
    if not getattr(field.resolve, "_is_default", False):
        return None
    definition = field.extensions.get(STRAWBERRY_FIELD)
    if definition is None or definition.base_resolver is not None:
        return None
    leaf_type, non_null = _unwrap(field.type)
    if not is_leaf_type(leaf_type):
        return None
    return _Leaf(definition.python_name, leaf_type, non_null, _enum_names(leaf_type))


def _enum_names(leaf_type: GraphQLLeafType) -> dict[Any, str] | None:
    wrapped = getattr(leaf_type, "wrapped_cls", None)
    if not isinstance(leaf_type, GraphQLEnumType) or wrapped is None:
        return None
    return {wrapped(value.value): name for name, value in leaf_type.values.items()}


def _nested_plan(
    attribute: str, map_name: str | None, return_type: GraphQLOutputType
) -> _Nested | None:
    inner, _ = _unwrap(return_type)
    if isinstance(inner, GraphQLObjectType):
        return _Nested(attribute, return_type, inner, None, map_name)
    if isinstance(inner, GraphQLList):
        item_type = inner.of_type
        item, _ = _unwrap(item_type)
        if isinstance(item, GraphQLObjectType):
            return _Nested(attribute, return_type, item, item_type, map_name)
    return None


def _prefetched_value(context: Any, map_name: str, key: Any) -> Any:
    """The value for ``key`` in the request's map ``map_name``; None when there is none."""
    maps = getattr(context, "prefetched", None) or _NO_MAPS
    found = maps.get(map_name)
    if found is None:
        return None
    try:
        return found.get(key)
    except TypeError:  # an unhashable key is in no map
        return None


class FastPaths(Executor[Any]):
    """Plain leaves inline and prefetched values without resolvers; the rest unchanged."""

    # (schema id, type name, field name) -> plan; the schema outlives every request.
    _plans: dict[tuple[int, str, str], _Leaf | _Nested | None] = {}

    def _field_plan(self, parent_type: GraphQLObjectType, field_name: str) -> Any:
        key = (id(self.schema), parent_type.name, field_name)
        try:
            return self._plans[key]
        except KeyError:
            plan = self._plans[key] = _plan(parent_type, field_name)
            return plan

    def _selection_plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: dict[str, Any]
    ) -> list[tuple[str, Any, Any]]:
        # graphql-core memoises the grouped field set of a list's items, so the 1,000
        # tasks of a page share one plan; keep the set alive so its id stays unique.
        cache_: dict[int, tuple[Any, list[tuple[str, Any, Any]]]]
        cache_ = self.__dict__.setdefault("_selection_plans", {})
        found = cache_.get(id(grouped_field_set))
        if found is not None:
            return found[1]
        plan = [
            (
                name,
                details,
                None
                if details[0].node.arguments
                else self._field_plan(parent_type, details[0].node.name.value),
            )
            for name, details in grouped_field_set.items()
        ]
        cache_[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
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
        pending: list[str] = []
        # Fields run in selection order, as graphql-core runs them, so errors come out
        # in the same order too.
        try:
            for name, details, plan in self._selection_plan(parent_type, grouped_field_set):
                if plan is not None:
                    value = getattr(source_value, plan.attribute, _MISSING)
                    if type(plan) is _Leaf:
                        if value is None:
                            if not plan.non_null:
                                values[name] = None
                                continue
                        elif value is not _MISSING:
                            names = plan.enum_names
                            if names is not None:
                                try:
                                    found = names.get(value)
                                except TypeError:  # unhashable: the standard path refuses it
                                    found = None
                                if found is not None:
                                    values[name] = found
                                    continue
                            try:
                                coerced = plan.leaf_type.coerce_output_value(value)
                            except Exception:  # noqa: BLE001 - the standard path reports it
                                coerced = Undefined
                            if coerced is not Undefined and coerced is not None:
                                values[name] = coerced
                                continue
                    else:
                        if plan.map_name is not None and value is not _MISSING:
                            value = _prefetched_value(self.context_value, plan.map_name, value)
                        if value is not None and value is not _MISSING and self._fits(plan, value):
                            field_path = Path(path, name, parent_type.name)
                            completed = self._complete_nested(
                                plan, details, field_path, value, position_context
                            )
                            values[name] = completed
                            if self.is_awaitable(completed):
                                pending.append(name)
                            continue
                single = super().execute_fields(
                    parent_type, source_value, path, {name: details}, position_context
                )
                if self.is_awaitable(single):
                    values[name] = _value_of(cast(Awaitable[dict[str, Any]], single), name)
                    pending.append(name)
                elif name in cast(dict[str, Any], single):
                    values[name] = cast(dict[str, Any], single)[name]
        except Exception:
            if pending:
                # A bubbling error must not orphan what siblings are still computing.
                self.settle_in_background([values[name] for name in pending])
            raise
        if pending:
            return _await_pending(values, pending)
        return values

    @staticmethod
    def _fits(plan: _Nested, value: Any) -> bool:
        # Anything the standard path would refuse goes there, to be refused the same way.
        is_type_of = plan.object_type.is_type_of
        if plan.item_type is None:
            return is_type_of is None or bool(is_type_of(value, None))  # type: ignore[arg-type]
        return isinstance(value, list) and (
            is_type_of is None or all(is_type_of(item, None) for item in value)  # type: ignore[arg-type]
        )

    def _complete_nested(
        self, plan: _Nested, details: Any, path: Path, value: Any, position_context: Any
    ) -> Any:
        """What execute_field + complete_value give for an already resolved object or list."""
        try:
            if plan.item_type is None:
                completed = self.collect_and_execute_subfields(
                    plan.object_type, details, path, value, position_context
                )
            else:
                completed = self._complete_items(plan, details, path, value, position_context)
        except Exception as error:  # noqa: BLE001 - handled exactly as graphql-core does
            self.handle_field_error(error, plan.return_type, details, path)
            return None
        if self.is_awaitable(completed):
            return self._await_field(completed, plan.return_type, details, path)
        return completed

    def _complete_items(
        self, plan: _Nested, details: Any, path: Path, items: list[Any], position_context: Any
    ) -> Any:
        assert plan.item_type is not None
        results: list[Any] = []
        waiting: list[int] = []
        for index, item in enumerate(items):
            item_path = path.add_key(index, None)
            try:
                completed = self.collect_and_execute_subfields(
                    plan.object_type, details, item_path, item, position_context
                )
            except Exception as error:  # noqa: BLE001 - handled exactly as graphql-core does
                try:
                    self.handle_field_error(error, plan.item_type, details, item_path)
                except Exception:
                    if waiting:
                        self.settle_in_background([results[i] for i in waiting])
                    raise
                completed = None
            if self.is_awaitable(completed):
                completed = self._await_field(completed, plan.item_type, details, item_path)
                waiting.append(index)
            results.append(completed)
        if not waiting:
            return results
        return _await_items(results, waiting)

    async def _await_field(
        self, awaitable: Awaitable[Any], return_type: GraphQLOutputType, details: Any, path: Path
    ) -> Any:
        try:
            return await awaitable
        except Exception as error:  # noqa: BLE001 - handled exactly as graphql-core does
            self.handle_field_error(error, return_type, details, path)
            return None


async def _await_items(results: list[Any], waiting: list[int]) -> list[Any]:
    # Concurrently, as graphql-core does: dataloaders batch only what is awaited together.
    awaited = await gather_with_cancel(*(results[index] for index in waiting))
    for index, value in zip(waiting, awaited, strict=True):
        results[index] = value
    return results


@cache
def with_fast_paths(base: type[Executor[Any]]) -> type[Executor[Any]]:
    """``base`` with the fast paths."""
    return type(f"FastPaths{base.__name__}", (FastPaths, base), {})


async def _value_of(awaitable: Awaitable[dict[str, Any]], name: str) -> Any:
    return (await awaitable).get(name)


async def _await_pending(values: dict[str, Any], pending: list[str]) -> dict[str, Any]:
    awaited = await gather_with_cancel(*(values[name] for name in pending))
    values.update(zip(pending, awaited, strict=True))
    return values


def prefetched(attribute: str) -> Callable[[F], F]:
    """Mark a resolver whose value may already sit on the object as ``attribute``.

    When it does (not None), the field is answered from it without calling the resolver
    or building Strawberry's Info; otherwise the resolver runs as usual.
    """

    def mark(resolver: F) -> F:
        setattr(resolver, PREFETCHED, attribute)
        return resolver

    return mark


def prefetched_by_key(map_name: str, key: str) -> Callable[[F], F]:
    """Mark a resolver whose value may already sit in the request's map ``map_name``
    (``context.prefetched[map_name]``) under the object's ``key`` attribute.

    For objects shared across requests: when the map holds a value (not None), the field is
    answered from it without calling the resolver; otherwise the resolver runs as usual.
    """

    def mark(resolver: F) -> F:
        setattr(resolver, PREFETCHED, _ByKey(map_name, key))
        return resolver

    return mark


def shortcut_prefetched(schema: GraphQLSchema) -> None:
    """Give every field marked with ``prefetched`` (or ``prefetched_by_key``) a raw resolver
    reading the attribute (or the map)."""
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field in graphql_type.fields.values():
            definition = field.extensions.get(STRAWBERRY_FIELD)
            resolver = getattr(definition, "base_resolver", None)
            marker = getattr(getattr(resolver, "wrapped_func", None), PREFETCHED, None)
            if field.resolve is None:
                continue
            if isinstance(marker, str):
                field.resolve = _read_or_resolve(marker, field.resolve)
            elif isinstance(marker, _ByKey):
                field.resolve = _look_up_or_resolve(marker, field.resolve)


def _read_or_resolve(attribute: str, resolve: Callable[..., Any]) -> Callable[..., Any]:
    def read_or_resolve(source: Any, info: Any, **args: Any) -> Any:
        value = getattr(source, attribute, None)
        return resolve(source, info, **args) if value is None else value

    setattr(read_or_resolve, PREFETCHED, attribute)
    return read_or_resolve


def _look_up_or_resolve(marker: _ByKey, resolve: Callable[..., Any]) -> Callable[..., Any]:
    def look_up_or_resolve(source: Any, info: Any, **args: Any) -> Any:
        key = getattr(source, marker.key, None)
        value = None if key is None else _prefetched_value(info.context, marker.map_name, key)
        return resolve(source, info, **args) if value is None else value

    setattr(look_up_or_resolve, PREFETCHED, marker)
    return look_up_or_resolve
