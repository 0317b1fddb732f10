"""Depth, alias, token and body limits; suggestions and introspection switches; masking."""

import logging
import uuid

import pytest
from graphql import parse, specified_rules

from gql import limits, loaders, shape_limits
from gql.schema import build_schema
from gql.settings import Settings
from tests.conftest import StatementCounter
from tests.graphql_client import GraphQLClient, error_codes

DEPTH_3 = "{ courses { edges { node { id } } } }"
DEPTH_4 = "{ courses { edges { node { sections { id } } } } }"


async def test_depth_limit_accepts_n_and_rejects_n_plus_one_before_any_resolver(
    make_client, count_statements: StatementCounter
) -> None:
    client = make_client(max_depth=3)

    accepted = await client.execute(DEPTH_3)
    before = count_statements.count
    rejected = await client.execute(DEPTH_4)

    assert "errors" not in accepted
    assert rejected["data"] is None
    assert error_codes(rejected) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "depth" in rejected["errors"][0]["message"]
    assert count_statements.count == before


def _aliases(n: int) -> str:
    return (
        "{ "
        + " ".join(f"a{i}: courses(first: 1) {{ pageInfo {{ hasNextPage }} }}" for i in range(n))
        + " }"
    )


async def test_alias_limit_accepts_n_and_rejects_n_plus_one(
    make_client, count_statements: StatementCounter
) -> None:
    client = make_client(max_aliases=15)

    accepted = await client.execute(_aliases(15))
    before = count_statements.count
    rejected = await client.execute(_aliases(16))

    assert "errors" not in accepted
    assert error_codes(rejected) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "aliases" in rejected["errors"][0]["message"]
    assert count_statements.count == before


async def test_token_limit_accepts_n_and_rejects_n_plus_one(
    make_client, count_statements: StatementCounter
) -> None:
    # "{ __typename }" is 3 tokens; each extra "__typename" adds one.
    client = make_client(max_tokens=10)

    accepted = await client.execute("{ " + "__typename " * 8 + "}")
    before = count_statements.count
    rejected = await client.execute("{ " + "__typename " * 9 + "}")

    assert "errors" not in accepted
    assert rejected["data"] is None
    assert error_codes(rejected) == ["GRAPHQL_PARSE_FAILED"], rejected
    assert count_statements.count == before


async def test_defaults_are_no_looser_than_the_documented_limits(client: GraphQLClient) -> None:
    settings = client.settings
    assert settings.max_depth <= 10
    assert settings.max_aliases <= 15
    assert settings.max_tokens <= 2000


async def test_suggestions_can_be_switched_off(make_client) -> None:
    with_hints = await make_client(suggestions=True).execute("{ course { titel } }")
    without = await make_client(suggestions=False).execute("{ courses { edgs { cursor } } }")

    assert any("Did you mean" in e["message"] for e in with_hints["errors"])
    assert error_codes(without) == ["GRAPHQL_VALIDATION_FAILED"]
    assert not any("Did you mean" in e["message"] for e in without["errors"])


async def test_introspection_can_be_switched_off(make_client) -> None:
    query = "{ __schema { queryType { name } } }"

    on = await make_client(introspection=True).execute(query)
    off = await make_client(introspection=False).execute(query)

    assert on["data"]["__schema"]["queryType"]["name"] == "Query"
    assert off["data"] is None
    assert set(error_codes(off)) == {"GRAPHQL_VALIDATION_FAILED"}


async def test_request_body_over_the_limit_is_413(make_client) -> None:
    client = make_client(max_body_bytes=1000)

    response = await client.http.post(
        "/graphql", json={"query": "{ __typename }", "variables": {"pad": "x" * 2000}}
    )

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_unexpected_errors_are_masked_and_logged_with_the_same_id(
    client: GraphQLClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail: password=hunter2")

    monkeypatch.setattr(vars(loaders.Loaders)["course_by_id"], "query", broken)
    from gql.ids import to_global_id

    with caplog.at_level(logging.ERROR):
        body = await client.execute(
            "query($id: ID!) { course(id: $id) { id } }",
            {"id": to_global_id("Course", uuid.uuid4())},
        )

    error = body["errors"][0]
    assert error["message"] == "Internal server error"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "hunter2" not in str(body)
    assert error["extensions"]["errorId"] in caplog.text
    assert "hunter2" in caplog.text


async def test_a_failure_before_execution_is_masked_and_logged_too(
    client: GraphQLClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail: password=hunter2")

    monkeypatch.setattr(limits, "_validate", broken)  # a validation rule with a bug

    with caplog.at_level(logging.ERROR):
        body = await client.execute("{ __typename }")

    assert body["data"] is None
    [error] = body["errors"]
    assert (error["message"], error["extensions"]["code"]) == (
        "Internal server error",
        "INTERNAL_SERVER_ERROR",
    )
    assert "hunter2" not in str(body)
    assert error["extensions"]["errorId"] in caplog.text


async def test_validation_errors_stay_readable(client: GraphQLClient) -> None:
    body = await client.execute("{ courses { nope } }")

    assert "nope" in body["errors"][0]["message"]


async def test_a_repeated_document_is_validated_once(client: GraphQLClient) -> None:
    query = "query Repeated { courses(first: 1) { pageInfo { hasNextPage } } }"
    await client.execute(query)
    before = (limits._validate.hits, limits._validate.misses)

    for _ in range(3):
        await client.execute(query)

    after = (limits._validate.hits, limits._validate.misses)
    assert (after[0] - before[0], after[1] - before[1]) == (3, 0)


def test_validation_cache_is_bounded_and_tells_schemas_apart() -> None:
    first, second = (build_schema(Settings())._schema for _ in range(2))
    cache = limits.ValidationCache(2)
    rules = (tuple(specified_rules),)
    documents = [parse("{ courses { pageInfo { hasNextPage } } }") for _ in range(3)]

    for document in documents:
        assert cache(first, document, rules, False) == []
    assert len(cache._entries) == 2
    cache(second, documents[-1], rules, False)  # the same document, another schema
    cache(first, documents[-1], rules, False)

    assert (cache.hits, cache.misses) == (1, 4)
    assert cache(first, parse("{ nope }"), rules, False)[0].message.startswith("Cannot query")


def _unknown_fields(n: int) -> str:
    return "{ " + " ".join(f"f{i}" for i in range(n)) + " }"


@pytest.mark.parametrize(
    ("case", "query", "variables", "overrides"),
    [
        (
            "100 unknown directives",
            "{ __typename" + " @x" * 100 + " }",
            None,
            {"max_directives": 200},
        ),
        ("1000 unknown fields", _unknown_fields(1000), None, {}),
        (
            "100 nulls in a list variable",
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            {"ids": [None] * 100},
            {},
        ),
    ],
)
async def test_a_response_lists_at_most_the_error_cap(
    make_client,
    case: str,
    query: str,
    variables: dict[str, object] | None,
    overrides: dict[str, int],
) -> None:
    client = make_client(**overrides)

    body = await client.execute(query, variables)

    assert body["data"] is None
    assert len(body["errors"]) == limits.MAX_ERRORS, case
    assert "error limit reached" in body["errors"][-1]["message"]
    assert len(set(error_codes(body))) == 1


LIMITED = [
    ("max_depth", 3, DEPTH_4, "depth"),
    ("max_aliases", 2, "{ a: __typename b: __typename c: __typename }", "aliases"),
    ("max_directives", 2, "{ __typename @x @x @x }", "directive"),
    ("max_cost", 50, "{ courses { edges { node { sections { themes { id } } } } } }", "cost"),
]


@pytest.mark.parametrize(("setting", "value", "query", "word"), LIMITED)
async def test_each_limit_answers_alone_before_the_full_validation(
    make_client, setting: str, value: int, query: str, word: str
) -> None:
    # The same document with a thousand mistakes the specification's rules would list.
    client = make_client(**{setting: value})
    wrong = query[:-1] + " " + " ".join(f"nope{i}" for i in range(1000)) + " }"

    body = await client.execute(wrong)

    assert body["data"] is None
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"], body
    assert word in body["errors"][0]["message"]


async def test_the_token_limit_answers_before_validation(make_client) -> None:
    client = make_client(max_tokens=100)

    body = await client.execute(_unknown_fields(1000))

    assert error_codes(body) == ["GRAPHQL_PARSE_FAILED"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ ...Nope }", "Unknown fragment 'Nope'."),
        ("{ courses { ...Nope } }", "Unknown fragment 'Nope'."),
        ("fragment A on Query { ...A } { ...A }", "Cannot spread fragment 'A' within itself."),
    ],
)
async def test_unknown_and_cyclic_fragments_are_validation_errors(
    client: GraphQLClient, query: str, message: str
) -> None:
    body = await client.execute(query)

    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"], body
    assert body["errors"][0]["message"] == message


async def test_fragments_spread_exponentially_are_measured_once_each(
    make_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each fragment spreads the next one twice: 2^60 paths through 61 fragments.
    fragments = "".join(
        f"fragment F{i} on Query {{ a{i}: __typename ...F{i + 1} ...F{i + 1} }}" for i in range(60)
    )
    query = "{ ...F0 } " + fragments + " fragment F60 on Query { courses { edges { cursor } } }"
    measured: list[object] = []
    depth, aliases = shape_limits._Shape.depth, shape_limits._Shape.alias_count

    def counted(measure):  # type: ignore[no-untyped-def]
        def wrapper(self, node):  # type: ignore[no-untyped-def]
            measured.append(node)
            return measure(self, node)

        return wrapper

    monkeypatch.setattr(shape_limits._Shape, "depth", counted(depth))
    monkeypatch.setattr(shape_limits._Shape, "alias_count", counted(aliases))
    client = make_client(max_aliases=1000, max_tokens=5000)

    body = await client.execute(query)

    # 2^60 - 1 aliases, counted without walking 2^60 paths.
    assert f"{2**60 - 1} aliases found. Allowed: 1000" in [e["message"] for e in body["errors"]]
    assert len(measured) <= 2 * 64  # 64 selection sets, each measured once per measure
