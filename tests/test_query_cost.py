"""The query cost estimate: lists multiply, pages count at their size, fragments stay cheap."""

from typing import Any

import pytest
from graphql import parse, validate

from gql import query_cost
from gql.query_cost import query_cost_rule
from gql.schema import build_schema
from gql.settings import Settings
from tests.graphql_client import error_codes
from tests.test_course_tree import TREE_QUERY

SCHEMA = build_schema(Settings())._schema


def _cost(query: str, list_size: int = 10) -> int:
    """The estimate, read back from the rule's refusal at a maximum of 0."""
    errors = validate(SCHEMA, parse(query), [query_cost_rule(0, list_size)])
    if not errors:
        return 0
    return int(errors[0].message.split("estimated cost is ")[1].split(",")[0])


@pytest.mark.parametrize(
    ("query", "cost"),
    [
        ("{ __typename }", 0),
        ("{ courses(first: 3) { pageInfo { hasNextPage } } }", 1 + 1 + 1),
        # courses and edges appear once, each edge's node and id three times.
        ("{ courses(first: 3) { edges { node { id } } } }", 1 + 1 + 3 * (1 + 1)),
        # The argument's default page size (20) when there is no literal.
        ("{ courses { edges { cursor } } }", 1 + 1 + 20 * 1),
        ("query($n: Int! = 2) { courses(first: $n) { edges { cursor } } }", 1 + 1 + 2 * 1),
        # A list without paging counts at the assumed size (10 here), nested lists multiply.
        ("query($id: ID!) { course(id: $id) { sections { id } } }", 1 + 1 + 10 * 1),
        (
            "query($id: ID!) { course(id: $id) { sections { themes { id } } } }",
            1 + 1 + 10 * (1 + 10 * 1),
        ),
        # Fragments cost what their fields cost where they are spread.
        (
            "query($id: ID!) { course(id: $id) { ...C } } fragment C on Course { sections { id } }",
            1 + 1 + 10,
        ),
        ("{ __schema { types { fields { name } } } }", 0),
    ],
)
def test_cost_counts_every_field_each_time_it_can_appear(query: str, cost: int) -> None:
    assert _cost(query) == cost


def test_the_course_page_fits_the_default_limit_and_twenty_of_them_do_not() -> None:
    settings = Settings()
    body = TREE_QUERY.split("course(id: $id)", 1)[1].rsplit("}", 1)[0]
    twenty_pages = "{ courses(first: 20) { edges { node " + body + " } } }"

    assert _cost(TREE_QUERY, settings.cost_list_size) <= settings.max_cost
    assert _cost(twenty_pages, settings.cost_list_size) > settings.max_cost


async def test_a_query_over_the_cost_limit_is_refused_before_any_resolver(
    make_client: Any, count_statements: Any
) -> None:
    client = make_client(max_cost=100)

    accepted = await client.execute("{ courses(first: 5) { edges { node { id title } } } }")
    before = count_statements.count
    refused = await client.execute("{ courses(first: 50) { edges { node { id title } } } }")

    assert "errors" not in accepted
    assert error_codes(refused) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "estimated cost is 152" in refused["errors"][0]["message"]
    assert count_statements.count == before


def test_fragments_spread_exponentially_are_costed_in_linear_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each fragment spreads the next one twice: 2^40 paths, 41 fragments.
    fragments = "".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
    query = (
        "{ ...F0 } "
        + fragments
        + " fragment F40 on Query { courses(first: 1) { pageInfo { hasNextPage } } }"
    )

    visited: list[object] = []
    visit = query_cost._Estimate.selection_set

    def counting(self: Any, node: Any, *args: Any) -> int:
        visited.append(node)
        return visit(self, node, *args)

    monkeypatch.setattr(query_cost._Estimate, "selection_set", counting)
    errors = validate(SCHEMA, parse(query), [query_cost_rule(1000, 10)])

    assert "estimated cost" in errors[0].message
    # Work, not seconds: each selection set is costed once (the operation's, 41 fragments',
    # the courses field's and pageInfo's); expanding every spread would visit 2^41 of them.
    assert len(visited) == 44


async def test_directive_limit_accepts_n_and_refuses_n_plus_one(make_client: Any) -> None:
    client = make_client(max_directives=3)

    accepted = await client.execute(
        "{ __typename @include(if: true) @skip(if: false) " + "a: __typename @include(if: true) }"
    )
    refused = await client.execute(
        "{ __typename @include(if: true) @skip(if: false) a: __typename @include(if: true)"
        " b: __typename @skip(if: false) }"
    )

    assert "errors" not in accepted
    assert error_codes(refused) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "directive" in refused["errors"][0]["message"]
