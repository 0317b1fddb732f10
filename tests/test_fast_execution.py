"""The execution fast paths answer exactly what graphql-core's own executor answers:
data, errors, messages and paths, including for values that break the schema."""

from enum import Enum

import pytest
import strawberry
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
    Leafy(name="boom", count=1, maybe=None, kind=Kind.B),
]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Leafy | None]:
        return list(BROKEN)

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
    fast = strawberry.Schema(
        query=Query,
        execution_context_class=fast_execution.with_leaf_fast_path(
            StrawberryGraphQLCoreExecutionContext
        ),
    )
    fast_execution.shortcut_prefetched(fast._schema)
    return standard, fast


def _shape(result: object) -> tuple[object, list[tuple[str, object]]]:
    errors = getattr(result, "errors", None) or []
    return getattr(result, "data", None), [(e.message, e.path) for e in errors]


QUERIES = [
    "{ items { name count maybe kind loud extra } }",
    "{ strictItems { name count } }",
    "{ strictItems { name maybe kind } }",
    "{ items { ... on Leafy { n: name c: count } name } }",
    "{ later { loud maybe name } }",
]


@pytest.mark.parametrize("query", QUERIES)
async def test_fast_executor_matches_graphql_core_even_on_broken_values(query: str) -> None:
    standard, fast = _schemas()

    expected = _shape(await standard.execute(query))
    actual = _shape(await fast.execute(query))

    assert actual == expected
    assert expected[1], "each query meets at least one broken value"


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
