"""LEARNTRACK_ENV=production: no introspection, no GraphiQL, no suggestions, limits on.

Development keeps the conveniences; each test shows both sides.
"""

import re
import uuid
from typing import Any

import orjson
import pytest

from gql import limits
from gql.schema import build_schema
from gql.settings import Settings
from tests.graphql_client import GraphQLClient, error_codes
from tests.test_malformed_requests import ATTEMPT, _attempt

PRODUCTION = {"env": "production", "jwt_secret": "production-secret-" + "x" * 32}

# (what is misspelt, query, variables, the word a suggestion would give away)
PROBES = [
    ("field", "{ courses { edgs { cursor } } }", None, "edges"),
    ("type in a fragment", "{ ... on Quer { __typename } }", None, "'Query'"),
    ("argument", "{ courses(frist: 1) { pageInfo { hasNextPage } } }", None, "'first'"),
    ("variable type", "query($x: Strin) { __typename }", None, "'String'"),
    (
        "input field literal",
        'mutation { updateViewer(input: {handel: "x"}) { __typename } }',
        None,
        "'handle'",
    ),
    (
        "enum literal",
        'mutation { submitAttempt(input: {id: "6a0d2a3c-1b7a-4ad4-9a52-0d3f7b0e0e51",'
        ' taskId: "x", tries: 1, timeSpentMs: 1, solved: true,'
        ' occurredAt: "2026-01-01T00:00:00Z", source: WBE}) { __typename } }',
        None,
        "'WEB'",
    ),
    ("enum in variables", ATTEMPT, {"i": _attempt(source="WBE")}, "'WEB'"),
    (
        "input field in variables",
        ATTEMPT,
        {"i": {**_attempt(), "timeSpentMss": 1}},
        "mean 'timeSpentMs'",  # The message quotes the input, which names the field.
    ),
]


def _messages(body: dict[str, Any]) -> list[str]:
    return [error["message"] for error in body.get("errors", [])]


@pytest.mark.parametrize(
    ("case", "query", "variables", "hint"), PROBES, ids=[probe[0] for probe in PROBES]
)
async def test_production_never_suggests_and_development_does(
    make_client: Any, case: str, query: str, variables: dict[str, Any] | None, hint: str
) -> None:
    production = await make_client(**PRODUCTION).execute(query, variables, user=uuid.uuid4())
    development = await make_client().execute(query, variables, user=uuid.uuid4())

    assert _messages(production), production
    assert not any("Did you mean" in m or hint in m for m in _messages(production)), production
    assert any("Did you mean" in m and hint in m for m in _messages(development)), development


async def test_production_refuses_introspection_and_development_answers_it(
    make_client: Any,
) -> None:
    query = '{ __schema { queryType { name } } __type(name: "Course") { name } }'

    production = await make_client(**PRODUCTION).execute(query)
    development = await make_client().execute(query)

    assert production["data"] is None
    assert set(error_codes(production)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert development["data"] == {
        "__schema": {"queryType": {"name": "Query"}},
        "__type": {"name": "Course"},
    }


async def test_production_has_no_graphiql_and_development_serves_it(make_client: Any) -> None:
    production: GraphQLClient = make_client(**PRODUCTION)
    development: GraphQLClient = make_client()
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}

    for client, page_status, asset_status in ((production, 404, 404), (development, 200, 200)):
        page = await client.http.get("/graphql", headers=browser)
        asset = await client.http.get("/graphiql/graphiql.min.js")

        assert (page.status_code, asset.status_code) == (page_status, asset_status)
    assert (await production.http.get("/graphql", headers=browser)).json()["errors"]


@pytest.mark.parametrize(
    ("setting", "query"),
    [
        ("max_depth", "{ courses { edges { node { sections { themes { tasks { id } } } } } } }"),
        ("max_aliases", "{ a: __typename b: __typename c: __typename }"),
        ("max_tokens", "{ __typename __typename __typename __typename }"),
        ("max_directives", "{ __typename @include(if: true) @skip(if: false) }"),
        ("max_cost", "{ courses { edges { node { sections { themes { id } } } } } }"),
    ],
)
async def test_every_limit_applies_in_production(
    make_client: Any, setting: str, query: str
) -> None:
    tight = {"max_depth": 4, "max_aliases": 2, "max_tokens": 5, "max_directives": 1, "max_cost": 50}
    client = make_client(**PRODUCTION, **{setting: tight[setting]})

    body = await client.execute(query)

    assert body["data"] is None
    assert error_codes(body) in (["GRAPHQL_VALIDATION_FAILED"], ["GRAPHQL_PARSE_FAILED"])


def test_production_defaults_switch_the_conveniences_off() -> None:
    production = Settings(**PRODUCTION)  # type: ignore[arg-type]
    development = Settings()

    assert (production.introspection_enabled, production.graphiql_enabled) == (False, False)
    assert production.suggestions_enabled is False
    assert (development.introspection_enabled, development.graphiql_enabled) == (True, True)
    assert development.suggestions_enabled is True


def test_a_hint_from_code_that_ignores_the_flag_is_still_cut() -> None:
    message = "Value 'WBE' is not an AttemptSource. Did you mean 'WEB'\nor 'API'?"

    assert limits.SUGGESTION.sub("", message) == "Value 'WBE' is not an AttemptSource."


# Documents a prober would send to map a schema whose introspection is off.
SCHEMA_PROBES: list[tuple[str, dict[str, Any] | None]] = [
    ("{ viewer { foo } }", None),
    ("{ course }", None),
    ("{ courses { edges { node { sections } } } }", None),
    ("{ __typename { id } }", None),
    ("{ courses(frist: 1, first: 1) { pageInfo { hasNextPage } } }", None),
    ("{ ... on Badge { id } }", None),
    ("fragment F on Badge { id } { courses { ...F } }", None),
    ("query($n: String) { courses(first: $n) { pageInfo { hasNextPage } } }", None),
    ('query($n: Int = "x") { courses(first: $n) { pageInfo { hasNextPage } } }', None),
    ("{ a: courses(first: 1) { pageInfo { hasNextPage } } a: viewer { userId } }", None),
    ('mutation { updateViewer(input: {handel: "x"}) { __typename } }', None),
    ("mutation { updateViewer(input: {timezone: 7}) { __typename } }", None),
    ("mutation { submitAttempt(input: {source: WBE}) { __typename } }", None),
    ("mutation { reserveTasks { __typename } }", None),
    ("{ courses @include { pageInfo { hasNextPage } } }", None),
    ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [None, 1]}),
    (ATTEMPT, {"i": {**_attempt(source="WBE"), "timeSpentMss": 1, "payload": {"x": 1}}}),
    (ATTEMPT, {"i": None}),
    (ATTEMPT, {"i": {"tries": "many"}}),
]


def _schema_type_names() -> set[str]:
    return set(build_schema(Settings())._schema.type_map)


@pytest.mark.parametrize(("query", "variables"), SCHEMA_PROBES)
async def test_production_messages_name_no_type_and_development_keeps_them(
    make_client: Any, query: str, variables: dict[str, Any] | None
) -> None:
    # The client's own words may come back (a field it misspelt); no other name of a type.
    own_words = set(re.findall(r"\w+", query + orjson.dumps(variables).decode()))
    types = _schema_type_names() - own_words

    production = await make_client(**PRODUCTION).execute(query, variables, user=uuid.uuid4())
    development = await make_client().execute(query, variables, user=uuid.uuid4())

    assert production["data"] is None, production
    assert len(production["errors"]) == len(development["errors"])
    for error in production["errors"]:
        named = [name for name in types if re.search(rf"\b{re.escape(name)}\b", error["message"])]
        assert named == [], error
        assert error["extensions"]["code"] in ("GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT")
    assert [e.get("locations") for e in production["errors"]] == [
        e.get("locations") for e in development["errors"]
    ]
    assert [e["extensions"] for e in production["errors"]] == [
        e["extensions"] for e in development["errors"]
    ]


async def test_development_keeps_graphql_cores_messages(make_client: Any) -> None:
    query = "{ viewer { foo } course(id: 1) }"

    production_client = make_client(**PRODUCTION)
    production = await production_client.execute(query, user=uuid.uuid4())
    development = await make_client().execute(query, user=uuid.uuid4())
    # Validation results are cached: the second answer comes from the cache.
    again = await production_client.execute(query, user=uuid.uuid4())

    assert _messages(again) == _messages(production)
    assert _messages(development) == [
        "Cannot query field 'foo' on type 'Viewer'.",
        "Field 'course' of type 'Course' must have a selection of subfields."
        " Did you mean 'course { ... }'?",
    ]
    assert _messages(production) == [
        "Cannot query field 'foo' here.",
        "Field 'course' must have a selection of subfields.",
    ]
