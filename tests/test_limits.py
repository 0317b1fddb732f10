"""Depth, alias, token and body limits; suggestions and introspection switches; masking."""

import logging
import uuid

import pytest
from graphql import parse, specified_rules

from gql import limits, loaders
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
    rules = tuple(specified_rules)
    documents = [parse("{ courses { pageInfo { hasNextPage } } }") for _ in range(3)]

    for document in documents:
        assert cache(first, document, rules, False) == []
    assert len(cache._entries) == 2
    cache(second, documents[-1], rules, False)  # the same document, another schema
    cache(first, documents[-1], rules, False)

    assert (cache.hits, cache.misses) == (1, 4)
    assert cache(first, parse("{ nope }"), rules, False)[0].message.startswith("Cannot query")
