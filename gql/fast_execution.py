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

Each selection is planned once per request (gql/field_plans.py), and an object field's
sub-selection once per document when collecting it cannot depend on variables: the objects
of a list, and the nested objects they hold, are completed by looping over that plan,
without graphql-core collecting their fields again for each one. Objects marked with
``share`` (a cached course tree's nodes, constants) never change, so the plain leaves a
selection starts with are serialized once per selection and kept on the object; a request
copies them.

A value that would produce an error (null in a non-null leaf, a value the scalar refuses, an
object of the wrong type) takes the standard path, so data, errors and paths are exactly
graphql-core's; tests run both executors on broken values and compare. Written against
graphql-core 3.3 (``Executor.execute_fields`` and friends; pinned in the lock).
"""

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any, TypeVar, cast

from graphql import FragmentSpreadNode, GraphQLObjectType, GraphQLSchema, OperationDefinitionNode
from graphql.execution.executor import Executor
from graphql.pyutils import Path
from graphql.pyutils.gather_with_cancel import gather_with_cancel

from gql import field_plans

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
# Where a shared object keeps its serialized leaves, by selection; a few selections at most,
# so that documents asking for ever other fields cannot grow a long-lived object.
SHARED = "__fast_execution_leaves__"
MAX_SHARED_SELECTIONS = 4


class FastPaths(Executor[Any]):
    """Plain leaves inline and prefetched values without resolvers; the rest unchanged."""

    # (schema id, type name, field name) -> plan; the schema outlives every request.
    _plans: dict[tuple[int, str, str], field_plans.FieldPlan] = {}

    @property
    def _hooked(self) -> bool:
        """Whether a resolve hook (middleware) must see every field: no shortcuts then."""
        manager = self.middleware_manager
        return manager is not None and bool(manager.middlewares)

    def _field_plan(self, parent_type: GraphQLObjectType, field_name: str) -> Any:
        key = (id(self.schema), parent_type.name, field_name)
        try:
            return self._plans[key]
        except KeyError:
            plan = self._plans[key] = field_plans.field_plan(parent_type, field_name)
            return plan

    def _selection_plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: dict[str, Any]
    ) -> field_plans.Selection:
        # graphql-core memoises the grouped field set of a list's items, so the 1,000
        # tasks of a page share one plan; keep the set alive so its id stays unique.
        cache_: dict[int, tuple[Any, field_plans.Selection]]
        cache_ = self.__dict__.setdefault("_selection_plans", {})
        found = cache_.get(id(grouped_field_set))
        if found is not None:
            return found[1]
        plan = field_plans.selection(parent_type, grouped_field_set, self._field_plan)
        cache_[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def _subselection(
        self, object_type: GraphQLObjectType, details: Any, position_context: Any
    ) -> field_plans.Selection | None:
        """The plan of an object field's sub-fields, once per field group; None where
        graphql-core must collect them itself (deferred fragments, incremental delivery)."""
        if position_context is not None:
            return None
        cache_: dict[tuple[GraphQLObjectType, int], tuple[Any, field_plans.Selection | None]]
        cache_ = self.__dict__.setdefault("_subselections", {})
        key = (object_type, id(details))
        found = cache_.get(key)
        if found is not None:
            return found[1]
        shared_key = self._shared_key(object_type, details)
        shared = _SHARED_SELECTIONS.get(shared_key) if shared_key is not None else None
        if shared is not None:
            plan: field_plans.Selection | None = shared[2]
        else:
            grouped_field_set, new_defer_usages, _ = self.collect_subfields(object_type, details)
            plan = (
                None if new_defer_usages else self._selection_plan(object_type, grouped_field_set)
            )
            if shared_key is not None and plan is not None:
                _keep(_SHARED_SELECTIONS, shared_key, (object_type, details, plan))
        cache_[key] = (details, plan)
        return plan

    def _shared_key(self, object_type: GraphQLObjectType, details: Any) -> Any:
        """What names this field group's plan across requests, or None when the plan may
        depend on the request's variables (directives, fragment variables, @defer)."""
        if not _fixed_selections(self.operation, self.fragments):
            return None
        for detail in details:
            if detail.defer_usage is not None or detail.fragment_variable_values is not None:
                return None
        # The entry keeps the type and the field nodes alive, so their ids stay theirs.
        return (id(object_type), *(id(detail.node) for detail in details))

    def collect_and_execute_subfields(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        # An object graphql-core completes itself (a resolver's result, a union's member):
        # its sub-selection's plan, shared by the requests of a fixed document, instead of
        # collecting its fields again.
        if not self._hooked:
            selection = self._subselection(return_type, field_details_list, position_context)
            if selection is not None:
                return self._execute_selection(return_type, result, path, selection, None)
        return super().collect_and_execute_subfields(
            return_type, field_details_list, path, result, position_context
        )

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: dict[str, Any],
        position_context: Any,
    ) -> Any:
        if self._hooked:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        selection = self._selection_plan(parent_type, grouped_field_set)
        return self._execute_selection(parent_type, source_value, path, selection, position_context)

    def _execute_selection(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        selection: field_plans.Selection,
        position_context: Any,
    ) -> Any:
        fields = selection.fields
        values: dict[str, Any] | None = None
        if selection.leaf_key is not None:
            shared = getattr(source_value, SHARED, None)
            if shared is not None:
                leaves = shared.get(selection.leaf_key)
                if leaves is None:
                    leaves = _shared_leaves(selection, source_value, shared)
                if leaves is not None:
                    values = leaves.copy()
                    fields = selection.after_leaves
        if values is None:
            values = {}
        pending: list[str] = []
        # Local names: this loop runs for every field of every object of a page.
        missing, leaf, leaf_value = field_plans.MISSING, field_plans.Leaf, field_plans.leaf_value
        # Fields run in selection order, as graphql-core runs them, so errors come out
        # in the same order too.
        try:
            for name, details, plan in fields:
                if plan is not None:
                    value = getattr(source_value, plan.attribute, missing)
                    if type(plan) is leaf:
                        value = leaf_value(plan, value)
                        if value is not missing:
                            values[name] = value
                            continue
                    else:
                        plan = cast(field_plans.Nested, plan)
                        if plan.map_name is not None and value is not missing:
                            value = field_plans.prefetched_value(
                                self.context_value, plan.map_name, value
                            )
                        if value is not None and value is not missing and self._fits(plan, value):
                            field_path = Path(path, name, parent_type.name)
                            completed = self._complete_nested(
                                plan, details, field_path, value, position_context
                            )
                            values[name] = completed
                            if _maybe_awaitable(completed) and self.is_awaitable(completed):
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
    def _fits(plan: field_plans.Nested, value: Any) -> bool:
        # Anything the standard path would refuse goes there, to be refused the same way.
        is_type_of = plan.object_type.is_type_of
        if plan.item_type is None:
            return is_type_of is None or bool(is_type_of(value, None))  # type: ignore[arg-type]
        # A null item (allowed or not) takes the standard path: it completes nulls.
        return isinstance(value, list) and all(
            item is not None and (is_type_of is None or is_type_of(item, None))  # type: ignore[arg-type]
            for item in value
        )

    def _complete_nested(
        self, plan: field_plans.Nested, details: Any, path: Path, value: Any, position_context: Any
    ) -> Any:
        """What execute_field + complete_value give for an already resolved object or list."""
        try:
            selection = self._subselection(plan.object_type, details, position_context)
            if plan.item_type is not None:
                completed = self._complete_items(
                    plan, details, path, value, position_context, selection
                )
            elif selection is not None:
                completed = self._execute_selection(plan.object_type, value, path, selection, None)
            else:
                completed = self.collect_and_execute_subfields(
                    plan.object_type, details, path, value, position_context
                )
        except Exception as error:  # noqa: BLE001 - handled exactly as graphql-core does
            self.handle_field_error(error, plan.return_type, details, path)
            return None
        if _maybe_awaitable(completed) and self.is_awaitable(completed):
            return self._await_field(completed, plan.return_type, details, path)
        return completed

    def _complete_items(
        self,
        plan: field_plans.Nested,
        details: Any,
        path: Path,
        items: list[Any],
        position_context: Any,
        selection: field_plans.Selection | None,
    ) -> Any:
        assert plan.item_type is not None
        results: list[Any] = []
        waiting: list[int] = []
        object_type = plan.object_type
        for index, item in enumerate(items):
            item_path = path.add_key(index, None)
            try:
                if selection is not None:
                    completed = self._execute_selection(
                        object_type, item, item_path, selection, None
                    )
                else:
                    completed = self.collect_and_execute_subfields(
                        object_type, details, item_path, item, position_context
                    )
            except Exception as error:  # noqa: BLE001 - handled exactly as graphql-core does
                try:
                    self.handle_field_error(error, plan.item_type, details, item_path)
                except Exception:
                    if waiting:
                        self.settle_in_background([results[i] for i in waiting])
                    raise
                completed = None
            if _maybe_awaitable(completed) and self.is_awaitable(completed):
                completed = self._await_field(completed, plan.item_type, details, item_path)
                waiting.append(index)
            results.append(completed)
        if not waiting:
            return results
        return _await_items(results, waiting)

    async def _await_field(
        self, awaitable: Awaitable[Any], return_type: Any, details: Any, path: Path
    ) -> Any:
        try:
            return await awaitable
        except Exception as error:  # noqa: BLE001 - handled exactly as graphql-core does
            self.handle_field_error(error, return_type, details, path)
            return None


# Plans of sub-selections shared by requests of the same (cached) document, by the ids of
# the object type and field nodes: collecting the fields and planning them again cost more
# per request than completing a mutation's payload with them.
_SHARED_SELECTIONS: dict[Any, tuple[GraphQLObjectType, Any, field_plans.Selection]] = {}
# Operations whose field collection never looks at variables, by id (entry keeps the node).
_FIXED_OPERATIONS: dict[int, tuple[OperationDefinitionNode, bool]] = {}
SHARED_PLANS = 4096


def _keep(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= SHARED_PLANS:
        del cache[next(iter(cache))]  # the oldest
    cache[key] = value


def _fixed_selections(operation: OperationDefinitionNode, fragments: dict[str, Any]) -> bool:
    """Whether collecting this operation's fields cannot depend on variables: no directive
    (@skip, @include, @defer, ...) and no fragment variables anywhere in it."""
    found = _FIXED_OPERATIONS.get(id(operation))
    if found is not None:
        return found[1]
    fixed = not any(details.variable_signatures for details in fragments.values())
    stack: list[Any] = [operation, *(details.definition for details in fragments.values())]
    while fixed and stack:
        node = stack.pop()
        if getattr(node, "directives", None) or (
            isinstance(node, FragmentSpreadNode) and getattr(node, "arguments", None)
        ):
            fixed = False
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)
    _keep(_FIXED_OPERATIONS, id(operation), (operation, fixed))
    return fixed


def _maybe_awaitable(value: Any) -> bool:
    # Completed objects and lists are dicts and lists: no need to ask is_awaitable.
    return type(value) is not dict and type(value) is not list and value is not None


def _shared_leaves(selection: field_plans.Selection, source: Any, shared: dict[Any, Any]) -> Any:
    """The leading leaves of ``selection`` serialized for ``source``, kept on it; None when
    one of them needs the standard path (which then reports it, every time)."""
    leaves: dict[str, Any] = {}
    for name, _, plan in selection.fields:
        if type(plan) is not field_plans.Leaf:
            break
        value = field_plans.leaf_value(plan, getattr(source, plan.attribute, field_plans.MISSING))
        if value is field_plans.MISSING:
            return None
        leaves[name] = value
    if len(shared) < MAX_SHARED_SELECTIONS:
        shared[selection.leaf_key] = leaves
    return leaves


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


def share(value: T) -> T:
    """Mark ``value`` as shared by requests and never changed again: the plain leaves a
    selection starts with are then serialized once per selection and kept on it."""
    object.__setattr__(value, SHARED, {})
    return value


def prefetched(attribute: str) -> Callable[[F], F]:
    """Mark a resolver whose value may already sit on the object as ``attribute``.

    When it does (not None), the field is answered from it without calling the resolver
    or building Strawberry's Info; otherwise the resolver runs as usual.
    """

    def mark(resolver: F) -> F:
        setattr(resolver, field_plans.PREFETCHED, attribute)
        return resolver

    return mark


def prefetched_by_key(map_name: str, key: str) -> Callable[[F], F]:
    """Mark a resolver whose value may already sit in the request's map ``map_name``
    (``context.prefetched[map_name]``) under the object's ``key`` attribute.

    For objects shared across requests: when the map holds a value (not None), the field is
    answered from it without calling the resolver; otherwise the resolver runs as usual.
    """

    def mark(resolver: F) -> F:
        setattr(resolver, field_plans.PREFETCHED, field_plans.ByKey(map_name, key))
        return resolver

    return mark


def shortcut_prefetched(schema: GraphQLSchema) -> None:
    """Give every field marked with ``prefetched`` (or ``prefetched_by_key``) a raw resolver
    reading the attribute (or the map)."""
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field in graphql_type.fields.values():
            definition = field.extensions.get(field_plans.STRAWBERRY_FIELD)
            resolver = getattr(definition, "base_resolver", None)
            marker = getattr(getattr(resolver, "wrapped_func", None), field_plans.PREFETCHED, None)
            if field.resolve is None:
                continue
            if isinstance(marker, str):
                field.resolve = _read_or_resolve(marker, field.resolve)
            elif isinstance(marker, field_plans.ByKey):
                field.resolve = _look_up_or_resolve(marker, field.resolve)


def _read_or_resolve(attribute: str, resolve: Callable[..., Any]) -> Callable[..., Any]:
    def read_or_resolve(source: Any, info: Any, **args: Any) -> Any:
        value = getattr(source, attribute, None)
        return resolve(source, info, **args) if value is None else value

    setattr(read_or_resolve, field_plans.PREFETCHED, attribute)
    return read_or_resolve


def _look_up_or_resolve(
    marker: field_plans.ByKey, resolve: Callable[..., Any]
) -> Callable[..., Any]:
    def look_up_or_resolve(source: Any, info: Any, **args: Any) -> Any:
        key = getattr(source, marker.key, None)
        value = (
            None
            if key is None
            else field_plans.prefetched_value(info.context, marker.map_name, key)
        )
        return resolve(source, info, **args) if value is None else value

    setattr(look_up_or_resolve, field_plans.PREFETCHED, marker)
    return look_up_or_resolve
