"""The execution fast paths answer exactly what graphql-core's own executor answers:
data, errors, messages and paths, including for values that break the schema."""

from enum import Enum
from typing import Any

import orjson
import pytest
import strawberry
from strawberry.extensions import ParserCache
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gql import fast_execution


@strawberry.enum
class Kind(Enum):
    A = "a"
    B = "b"


@strawberry.type
class Leafy:
    name: str
    count: int
    maybe: int | None
    kind: Kind
    prefetched_extra: strawberry.Private[str | None] = None
    ratio: float | None = None

    @strawberry.field
    def loud(self) -> str:
        if self.name == "boom":
            raise RuntimeError("resolver failed")
        return self.name.upper()

    @strawberry.field
    @fast_execution.prefetched("prefetched_extra")
    def extra(self) -> str:
        return f"computed {self.name}"


BROKEN = [
    # A prefetched value equal to what the resolver computes: the executors must agree.
    Leafy(name="ok", count=1, maybe=None, kind=Kind.A, prefetched_extra="computed ok"),
    Leafy(name="null count", count=None, maybe=2, kind=Kind.B),  # type: ignore[arg-type]
    Leafy(name="string count", count="x", maybe=3, kind=Kind.A),  # type: ignore[arg-type]
    Leafy(name="huge", count=1, maybe=2**40, kind=Kind.A),
    Leafy(name="bad enum", count=1, maybe=None, kind="nope"),  # type: ignore[arg-type]
    Leafy(name="unhashable enum", count=1, maybe=None, kind=["A"]),  # type: ignore[arg-type]
    Leafy(name="raw enum value", count=1, maybe=None, kind="a"),  # type: ignore[arg-type]
    Leafy(name="boom", count=1, maybe=None, kind=Kind.B),
    Leafy(name="bool count", count=True, maybe=-(2**31), kind=Kind.A, ratio=2),
    Leafy(name="infinite", count=2**31, maybe=2**31 - 1, kind=Kind.A, ratio=float("inf")),
    Leafy(name="not a number", count=1, maybe=None, kind=Kind.A, ratio=float("nan")),
]


# The same values, on objects shared by executions (their leaves are kept once serialized).
SHARED = [
    fast_execution.share(
        Leafy(name=i.name, count=i.count, maybe=i.maybe, kind=i.kind, ratio=i.ratio)
    )
    for i in BROKEN
]


@strawberry.type
class Child:
    value: int

    @strawberry.field
    async def later(self) -> int:
        return self.value


@strawberry.type
class Parent:
    name: str
    prefetched_kids: strawberry.Private[list[Any] | None] = None
    prefetched_best: strawberry.Private[Any] = None

    # The resolvers return the same objects the prefetch holds, so whichever path runs,
    # both executors see the same values.
    @strawberry.field
    @fast_execution.prefetched("prefetched_kids")
    def kids(self) -> list[Child]:
        return self.prefetched_kids or []

    @strawberry.field
    @fast_execution.prefetched("prefetched_best")
    def best(self) -> Child | None:
        return self.prefetched_best  # type: ignore[no-any-return]


PARENTS = [
    Parent(
        name="fine",
        prefetched_kids=[Child(value=1), Child(value=2)],
        prefetched_best=Child(value=3),
    ),
    Parent(
        name="null inside",
        prefetched_kids=[Child(value=None)],  # type: ignore[arg-type]
        prefetched_best=Child(value="x"),
    ),  # type: ignore[arg-type]
    Parent(
        name="wrong type",
        prefetched_kids=[Leafy(name="a", count=1, maybe=None, kind=Kind.A)],
        prefetched_best=Leafy(name="b", count=1, maybe=None, kind=Kind.A),
    ),
    Parent(name="nothing", prefetched_kids=None, prefetched_best=None),
    Parent(name="null kid", prefetched_kids=[Child(value=1), None], prefetched_best=None),
]


@strawberry.type
class Holder:
    """Shared by requests: its per-request value sits in the context's map ``twins``."""

    name: str

    @strawberry.field
    @fast_execution.prefetched_by_key("twins", "name")
    def twin(self) -> Child | None:
        return TWINS.get(self.name)

    @strawberry.field
    @fast_execution.prefetched_by_key("twins", "name")
    def strict_twin(self) -> Child:
        return TWINS.get(self.name)  # type: ignore[return-value]


HOLDERS = [Holder(name=name) for name in ("fine", "null inside", "wrong type", "absent", "x")]
# What the resolver computes; the request's map holds the same, except for "absent".
TWINS: dict[str, Any] = {
    "fine": Child(value=1),
    "null inside": Child(value=None),  # type: ignore[arg-type]
    "wrong type": Leafy(name="b", count=1, maybe=None, kind=Kind.A),
    "absent": Child(value=4),
}


@strawberry.type
class Plain:
    """Objects held as plain attributes (no resolver), as a mutation's payload holds them."""

    child: Child | None
    strict_child: Child
    children: list[Child]
    leafy: Leafy | None


PLAINS = [
    Plain(child=Child(value=1), strict_child=Child(value=2), children=[Child(value=3)], leafy=None),
    Plain(
        child=None,
        strict_child=Child(value=None),  # type: ignore[arg-type]
        children=[Child(value=4), None],  # type: ignore[list-item]
        leafy=BROKEN[2],
    ),
    Plain(
        child=Leafy(name="wrong type", count=1, maybe=None, kind=Kind.A),  # type: ignore[arg-type]
        strict_child=None,  # type: ignore[arg-type]
        children=None,  # type: ignore[arg-type]
        leafy=BROKEN[0],
    ),
    Plain(child={"value": 5}, strict_child=Child(value=6), children=Child(value=7), leafy=None),  # type: ignore[arg-type]
]


class MapContext:
    def __init__(self, **maps: dict[Any, Any]) -> None:
        self.prefetched = maps


def _twins_map() -> dict[Any, Any]:
    return {name: twin for name, twin in TWINS.items() if name != "absent"}


@strawberry.type
class Query:
    @strawberry.field
    def holders(self) -> list[Holder | None]:
        return list(HOLDERS)

    @strawberry.field
    def parents(self) -> list[Parent | None]:
        return list(PARENTS)

    @strawberry.field
    def strict_parents(self) -> list[Parent]:
        return list(PARENTS[:1])

    @strawberry.field
    def plains(self) -> list[Plain | None]:
        return list(PLAINS)

    @strawberry.field
    def items(self) -> list[Leafy | None]:
        return list(BROKEN)

    @strawberry.field
    def shared(self) -> list[Leafy | None]:
        return list(SHARED)

    @strawberry.field
    def strict_items(self) -> list[Leafy]:
        return list(BROKEN)

    @strawberry.field
    async def later(self) -> list[Leafy | None]:
        return list(BROKEN)


def _schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    standard = strawberry.Schema(
        query=Query, execution_context_class=StrawberryGraphQLCoreExecutionContext
    )
    # As the server parses (gql/limits.py's parse cache), ParserCache hands every request of
    # a text the same document, whose plans are then shared by requests.
    fast = strawberry.Schema(
        query=Query,
        execution_context_class=fast_execution.with_fast_paths(
            StrawberryGraphQLCoreExecutionContext
        ),
        extensions=[ParserCache],
    )
    fast_execution.shortcut_prefetched(fast._schema)
    return standard, fast


def _shape(result: object) -> tuple[object, list[tuple[str, object]]]:
    errors = getattr(result, "errors", None) or []
    return getattr(result, "data", None), [(e.message, e.path) for e in errors]


QUERIES = [
    "{ items { name count maybe kind loud extra ratio } }",
    "{ strictItems { name count } }",
    "{ strictItems { name maybe kind } }",
    "{ items { ... on Leafy { n: name c: count } name } }",
    "{ later { loud maybe name } }",
    "{ parents { name kids { value } best { value } } }",
    "{ parents { name kids { later value } best { later } } }",
    "{ strictParents { kids { value later } } parents { best { value } } }",
    "{ holders { name twin { value later } } }",
    "{ holders { strictTwin { value } name } }",
    "{ shared { name count maybe ratio kind loud } }",
    "{ shared { kind loud name } }",
    "{ shared { n: name ... on Leafy { count } } }",
    "{ plains { child { value later } strictChild { value } children { value } } }",
    "{ plains { leafy { name count loud extra } children { later } } }",
]


@pytest.mark.parametrize("query", QUERIES)
async def test_fast_executor_matches_graphql_core_even_on_broken_values(query: str) -> None:
    standard, fast = _schemas()

    expected = _shape(await standard.execute(query, context_value=MapContext(twins=_twins_map())))
    actual = _shape(await fast.execute(query, context_value=MapContext(twins=_twins_map())))
    # Again: shared objects now answer from what they kept, broken values still fail.
    again = _shape(await fast.execute(query, context_value=MapContext(twins=_twins_map())))

    assert actual == expected
    assert again == expected
    # Same keys in the same order (JSON objects keep the selection's order).
    assert orjson.dumps(actual[0]) == orjson.dumps(expected[0])


async def test_value_in_the_request_map_is_used_and_the_resolver_runs_without_one() -> None:
    _, fast = _schemas()
    query = "{ holders { name twin { value } } }"

    mapped = await fast.execute(query, context_value=MapContext(twins={"x": Child(value=9)}))
    unmapped = await fast.execute(query, context_value=MapContext())

    assert mapped.data is not None and unmapped.data is not None
    twins = {holder["name"]: holder["twin"] for holder in mapped.data["holders"]}
    assert twins["x"] == {"value": 9}  # the resolver has nothing for "x"
    assert twins["absent"] == {"value": 4}  # not in the map: the resolver's
    assert {holder["name"]: holder["twin"] for holder in unmapped.data["holders"]}["x"] is None


async def test_prefetched_value_is_used_and_the_resolver_runs_without_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, fast = _schemas()
    monkeypatch.setattr(BROKEN[0], "prefetched_extra", "from prefetch")

    result = await fast.execute("{ items { name extra } }")

    assert result.data is not None
    extras = [item["extra"] for item in result.data["items"]]
    assert extras[0] == "from prefetch"
    assert extras[1] == "computed null count"


async def test_mapped_value_skips_graphql_cores_field_execution(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, fast = _schemas()
    executor = fast.execution_context_class
    executed: list[str] = []
    execute_field = executor.execute_field

    def counting(self: Any, parent_type: Any, source: Any, details: Any, path: Any, *a: Any) -> Any:
        executed.append(details[0].node.name.value)
        return execute_field(self, parent_type, source, details, path, *a)

    monkeypatch.setattr(executor, "execute_field", counting)
    twins = {holder.name: Child(value=1) for holder in HOLDERS}

    result = await fast.execute(
        "{ holders { twin { value } } }", context_value=MapContext(twins=twins)
    )

    assert result.errors is None
    assert executed == ["holders"]


async def test_shared_object_keeps_leaves_for_a_bounded_number_of_selections() -> None:
    _, fast = _schemas()
    selections = ["name", "count", "name count", "count name", "name kind", "kind", "maybe"]

    for fields in selections:
        result = await fast.execute(f"{{ shared {{ {fields} }} }}")
        assert result.data is not None
        assert list(result.data["shared"][0]) == fields.split()

    kept = getattr(SHARED[0], fast_execution.SHARED)
    assert len(kept) == fast_execution.MAX_SHARED_SELECTIONS


VARIABLE_SELECTIONS = [
    "query($x: Boolean!) { plains { child { value later @include(if: $x) } } }",
    "query($x: Boolean!) { plains { children { ... on Child @skip(if: $x) { value } later } } }",
    "query($x: Boolean!) { parents { kids { ...K } } } fragment K on Child { value @skip(if: $x) }",
]


@pytest.mark.parametrize("query", VARIABLE_SELECTIONS)
async def test_selections_that_depend_on_variables_are_planned_per_request(query: str) -> None:
    standard, fast = _schemas()

    for x in (True, False, True):
        variables = {"x": x}
        expected = _shape(await standard.execute(query, variable_values=variables))
        actual = _shape(await fast.execute(query, variable_values=variables))
        assert actual == expected


async def test_a_fixed_selection_is_planned_once_for_every_request() -> None:
    _, fast = _schemas()
    query = "{ plains { child { value } strictChild { value } } }"
    before = len(fast_execution._SHARED_SELECTIONS)

    first = _shape(await fast.execute(query))
    planned = len(fast_execution._SHARED_SELECTIONS)
    second = _shape(await fast.execute(query))

    assert first == second
    # The root list's items (Plain), then child and strictChild; the second request adds
    # nothing.
    assert planned - before == 3
    assert len(fast_execution._SHARED_SELECTIONS) == planned
