"""Fuzzing over HTTP on a fixed budget: operations hypothesis-graphql generates from
schema.graphql, documents mangled on purpose and hostile requests, against the real app and
PostgreSQL. Whatever arrives, the answer is no 5xx, no INTERNAL_SERVER_ERROR, no trace or
SQL, every error carries a code, and no log record is an error or repeats a secret the
request carried.

Hypothesis drives examples synchronously, so (as in tests/test_attempts_model.py) they run
on this module's own event loop, against its own database.
"""

import asyncio
import base64
import dataclasses
import gzip
import json
import logging
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
import yaml
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import engine as db_engine
from db import migrate
from db.engine import Database
from domain import content_document, content_import
from domain.demo import DEMO_COURSE_PATH
from gql import auth
from gql.app import create_app
from gql.ids import to_global_id
from gql.settings import Settings

SCHEMA = graphql.build_schema(
    (Path(__file__).resolve().parent.parent / "schema.graphql").read_text(encoding="utf-8")
)
# Put into generated values (never names: operation names are logged on purpose). No log
# record may repeat it, whatever the request was.
MARKER = f"SECRET-{uuid.uuid4()}"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
LEAKS = ("Traceback", 'File "', "sqlalchemy", "asyncpg", "SELECT ", "INSERT ", "psycopg")
NODE_TYPES = sorted(
    name
    for name, type_ in SCHEMA.type_map.items()
    if isinstance(type_, graphql.GraphQLObjectType)
    and any(interface.name == "Node" for interface in type_.interfaces)
)
# The same examples on every run; the whole file stays well under a minute.
BUDGET = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

EDGE_TEXT = [
    "",
    "\u0000",
    f"\u0000{MARKER}",
    "\u200f\u202erlo",
    "🧑🏽‍🚀",
    "\ufeff",
    "e\u0301",
    "\\",
    '"',
    "\r\n",
    "%s%n",
    "'; DROP TABLE users; --",
    "Pacific/Kiritimati",
    "Etc/GMT+12",
    # Keys in the demo content: a criteria's courseKey resolves, a new badge's key clashes.
    "python-foundations",
    "first-section",
    "first-section/any",
    "x" * 10_000,
]
TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(EDGE_TEXT),
    st.text(max_size=10).map(lambda prefix: prefix + MARKER),
)


def _b64(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def _json_nodes() -> st.SearchStrategy[graphql.ValueNode]:
    leaves = st.one_of(
        st.integers(-(2**80), 2**80).map(nodes.Int),
        st.sampled_from([2**64, 2**70, -(2**70)]).map(nodes.Int),
        st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
        st.sampled_from(["1e999", "-0.0", "1e-400"]).map(lambda n: graphql.FloatValueNode(value=n)),
        TEXT.map(nodes.String),
        st.booleans().map(nodes.Boolean),
        st.just(nodes.Null),
    )
    # Badge criteria's own keys too, so that generated criteria reach their checks.
    criteria_keys = ["days", "tasks", "solves", "maxMs", "times", "rules", "type", "criteria"]
    criteria_keys += ["sectionId", "themeId", "courseId", "sectionKey", "courseKey"]
    keys = st.sampled_from(criteria_keys) | st.from_regex(
        r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True
    )

    def obj(fields: dict[str, graphql.ValueNode]) -> graphql.ValueNode:
        return nodes.Object(
            [
                graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=value)
                for key, value in fields.items()
            ]
        )

    def deep(depth: int) -> graphql.ValueNode:
        value = nodes.String(MARKER)
        for _ in range(depth):
            value = nodes.List([value])
        return value

    return st.one_of(
        st.recursive(
            leaves,
            lambda children: (
                st.lists(children, max_size=4).map(nodes.List)
                | st.dictionaries(keys, children, max_size=4).map(obj)
            ),
            max_leaves=12,
        ),
        # Deeper literals are hostile_documents' (compact text: print_ast indents each level).
        st.sampled_from([20, 31, 33, 100]).map(deep),
    )


def scalars(known_ids: list[str], *, malformed: bool) -> dict[str, st.SearchStrategy[Any]]:
    """Values for the schema's scalars. Plausible ones parse, so operations get past
    validation to the resolvers and the database (one bad value anywhere stops a whole
    document); ``malformed`` adds values that must not parse."""
    offsets = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12))])
    recent = st.datetimes(
        min_value=(NOW - timedelta(days=40)).replace(tzinfo=None),
        max_value=(NOW + timedelta(days=1)).replace(tzinfo=None),
        timezones=offsets,
    )
    unknown_ids = st.tuples(st.sampled_from(NODE_TYPES), st.uuids()).map(
        lambda pair: to_global_id(*pair)
    )
    plausible = {
        "Int": st.one_of(st.integers(-3, 120), st.integers(-(2**31), 2**31 - 1)),
        "ID": st.one_of(st.sampled_from(known_ids), unknown_ids),
        "UUID": st.one_of(st.uuids().map(str), st.uuids().map(lambda u: u.urn)),
        "Date": st.dates().map(date.isoformat),
        # Valid all the same: the extremes overflow when moved to UTC.
        "DateTime": st.one_of(
            recent.map(datetime.isoformat),
            st.datetimes(timezones=offsets).map(datetime.isoformat),
            st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"]),
        ),
    }
    bad = {
        "Int": st.sampled_from([2**31, -(2**31) - 1, 2**64, 2**70]),
        "ID": st.one_of(
            st.tuples(st.sampled_from(NODE_TYPES), TEXT).map(lambda pair: _b64(":".join(pair))),
            TEXT,
        ),
        "UUID": TEXT,
        "Date": st.one_of(
            st.sampled_from(["2026-02-30", "0000-01-01", "+10000-01-01", "2026-W01"]), TEXT
        ),
        "DateTime": st.one_of(
            st.sampled_from(["2026-06-01T12:00:00", "2026-06-01T25:00:00Z", "20260601T1200Z"]),
            TEXT,
        ),
    }
    chosen = {
        name: (strategy | bad[name]) if malformed else strategy
        for name, strategy in plausible.items()
    }
    return {
        "String": TEXT.map(nodes.String),
        "Int": chosen.pop("Int").map(nodes.Int),
        **{name: strategy.map(nodes.String) for name, strategy in chosen.items()},
        "JSON": _json_nodes(),
    }


def operations(known_ids: list[str], mode: Mode = Mode.POSITIVE) -> st.SearchStrategy[str]:
    """Documents over the whole schema, half with plausible values, half with any."""
    return st.one_of(
        from_schema(SCHEMA, custom_scalars=scalars(known_ids, malformed=malformed), mode=mode)
        for malformed in (False, True)
    )


def as_variables(document: str) -> tuple[str, dict[str, Any]]:
    """The same operation with its root fields' arguments sent as variables, so values go
    through the scalars' parse_value path instead of parse_literal."""
    ast = graphql.parse(document)
    [operation] = ast.definitions
    assert isinstance(operation, graphql.OperationDefinitionNode)
    root = SCHEMA.get_root_type(operation.operation)
    assert root is not None
    definitions: list[graphql.VariableDefinitionNode] = []
    variables: dict[str, Any] = {}
    selections = []
    for selection in operation.selection_set.selections:
        if isinstance(selection, graphql.FieldNode) and selection.arguments:
            arguments = []
            for argument in selection.arguments:
                variable = graphql.VariableNode(name=graphql.NameNode(value=f"v{len(variables)}"))
                variables[variable.name.value] = graphql.value_from_ast_untyped(argument.value)
                type_ = root.fields[selection.name.value].args[argument.name.value].type
                definitions.append(
                    graphql.VariableDefinitionNode(
                        variable=variable, type=graphql.parse_type(str(type_))
                    )
                )
                arguments.append(dataclasses.replace(argument, value=variable))
            selection = dataclasses.replace(selection, arguments=tuple(arguments))
        selections.append(selection)
    operation = dataclasses.replace(
        operation,
        variable_definitions=tuple(definitions),
        selection_set=dataclasses.replace(operation.selection_set, selections=tuple(selections)),
    )
    return graphql.print_ast(dataclasses.replace(ast, definitions=(operation,))), variables


def assert_sound(response: httpx.Response, records: list[logging.LogRecord]) -> None:
    assert response.status_code < 500, response.text[:2_000]
    for leak in LEAKS:
        assert leak not in response.text, response.text[:2_000]
    if response.content:
        errors = response.json().get("errors") or []
        codes = [(error.get("extensions") or {}).get("code") for error in errors]
        assert "INTERNAL_SERVER_ERROR" not in codes, errors
        assert None not in codes, errors
    # httpx's own lines are the test client's (a GET's full URL), not the server's.
    for record in (r for r in records if not r.name.startswith(("httpx", "httpcore"))):
        assert record.levelno < logging.ERROR, record.getMessage()
        # The whole record: message, arguments, extra fields and any exception it carries.
        assert MARKER not in repr(vars(record)), record.getMessage()


@dataclasses.dataclass
class Api:
    loop: asyncio.AbstractEventLoop
    http: httpx.AsyncClient
    settings: Settings
    tokens: dict[str, str | None]
    ids: list[str]

    def request(self, method: str, url: str = "/graphql", **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.http.request(method, url, **kwargs))

    def graphql(
        self, query: str, variables: dict[str, Any] | None, *, who: str | None, method: str
    ) -> httpx.Response:
        token = self.tokens[who] if who else None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        params = {"query": query, **({"variables": json.dumps(variables)} if variables else {})}
        # httpx refuses to build a URL over 64 kB: a longer GET goes as a POST.
        if method == "GET" and len(str(httpx.QueryParams(params))) < 60_000:
            return self.request("GET", params=params, headers=headers)
        # The standard library writes integers past 64 bits, which orjson refuses.
        body = json.dumps({"query": query, "variables": variables}).encode()
        return self.request(
            "POST", content=body, headers={**headers, "Content-Type": "application/json"}
        )


async def _seed(engine: AsyncEngine) -> list[str]:
    """The demo course and its badges, plus a rule over a window of local days (the demo
    has none); returns global ids of objects that exist."""
    data = yaml.safe_load(DEMO_COURSE_PATH.read_text(encoding="utf-8"))
    window = {"key": "fuzz/window", "type": "count_in_window", "criteria": {"solves": 2, "days": 7}}
    data["badges"].append({"key": "fuzz", "name": "Fuzz", "rules": [window]})
    document = content_document.parse_document(data)
    tables = ("Course", "Section", "Theme", "Task", "Badge", "BadgeRule")
    ids = []
    async with engine.begin() as conn:
        await content_import.import_content(conn, document=document)
        for type_name in tables:
            table = "badge_rule" if type_name == "BadgeRule" else type_name.lower()
            rows = await conn.execute(text(f"SELECT id FROM {table} ORDER BY key LIMIT 4"))
            ids += [to_global_id(type_name, id_) for id_ in rows.scalars()]
    return ids


@pytest.fixture(scope="module")
def api(make_database) -> Iterator[Api]:  # type: ignore[no-untyped-def]
    url = make_database()
    migrate.upgrade(url)
    loop = asyncio.new_event_loop()
    engine = db_engine.create_engine(url, pool_size=2)
    app_settings = Settings(database_url=url, env="development")
    app = create_app(app_settings, Database(engine), lambda: NOW)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    learner = auth.mint_token(app_settings, user_id=uuid.uuid4())
    admin = auth.mint_token(app_settings, user_id=uuid.uuid4(), admin=True)
    try:
        ids = loop.run_until_complete(_seed(engine))
        yield Api(loop, http, app_settings, {"learner": learner, "admin": admin}, ids)
    finally:
        loop.run_until_complete(http.aclose())
        loop.run_until_complete(engine.dispose())
        loop.close()


WHO = st.sampled_from(["learner", "learner", "admin", None])
CREATE_BADGE = "mutation { createBadge(input: {%s}) { __typename } }"


# Examples carry 10,000-character strings on purpose: their reprs are long.
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
def test_generated_operations_never_fail_the_server(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    @settings(max_examples=400, **BUDGET)
    @given(operations(api.ids), st.booleans(), WHO, st.sampled_from(["POST", "POST", "GET"]))
    # Found by larger runs of this test; the budget alone may not reach them again.
    @example(CREATE_BADGE % r'key: "k\u0000", name: "n"', True, "admin", "POST")
    @example(CREATE_BADGE % 'key: "k", name: "n", media: {a: [1e999]}', False, "admin", "POST")
    def run(document: str, use_variables: bool, who: str | None, method: str) -> None:
        caplog.clear()
        query, variables = as_variables(document) if use_variables else (document, None)
        note(f"{method} as {who}: {query[:3_000]!r} {repr(variables)[:3_000]}")
        assert_sound(api.graphql(query, variables, who=who, method=method), caplog.records)

    run()


# Spliced into valid documents at random places.
TOKENS = ["{", "}", "(", ")", "[", "]", ":", "$", "@", "...", "!", "=", "|", "#", '"', '"""']
TOKENS += ["\\", "\u0000", "\u200f", "🧑‍🚀", "query", "fragment", "on", "null", "__schema"]
TOKENS += ["18446744073709551616", "1e999", "-0", "0x1F", f'"{MARKER}"', "$" + "v" * 5_000]


HUGE_NUMBERS = ["18446744073709551616", "1e999", "-9999999999999999999999", "1.5e308", "-0"]


def hostile_documents(task_id: str) -> st.SearchStrategy[str]:
    """Documents built to hit the limits and the parser's corners."""
    attempt = (
        'mutation { submitAttempt(input: {id: "%s", taskId: "%s", tries: %s, timeSpentMs: 1, '
        'solved: true, occurredAt: "2026-06-01T11:00:00Z", source: WEB, payload: %s})'
        " { __typename } }"
    )

    def submit(tries: str, payload: str) -> str:
        return attempt % (uuid.uuid4(), task_id, tries, payload)

    def nested(depth: int) -> str:
        return "[" * depth + f'"{MARKER}"' + "]" * depth

    fragments = "".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }} " for i in range(30))
    return st.one_of(
        st.integers(1, 3_000).map(lambda n: "{" * n + "}" * n),
        st.integers(1, 3_000).map(lambda n: "{ viewer " + "{" * n),
        st.integers(1, 3_000).map(lambda n: "query " + "(" * n),
        st.integers(1, 2_000).map(lambda n: submit("1", nested(n))),
        st.integers(1, 2_000).map(lambda n: submit("1", "{a: " * n + "1" + "}" * n)),
        # A huge number where an Int goes, or in a payload the database will store.
        st.sampled_from(HUGE_NUMBERS).map(lambda n: submit(n, "null")),
        st.sampled_from(HUGE_NUMBERS).map(lambda n: submit("1", f'{{n: {n}, s: "{MARKER}"}}')),
        st.integers(1, 300).map(
            lambda n: "{ " + " ".join(f"a{i}: __typename" for i in range(n)) + " }"
        ),
        st.integers(1, 300).map(lambda n: "{ __typename" + " @skip(if: false)" * n + " }"),
        st.integers(1, 49_000).map(lambda n: "{ " + "a" * n + " }"),
        st.integers(1, 40).map(lambda n: "{ viewer { " * n + "id" + " }" * n),
        st.just("query Q { ...F0 } " + fragments + "fragment F30 on Query { __typename }"),
        st.just("query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"),
        st.just("query A { __typename } query A { __typename }"),
        st.just("subscription { __typename }"),
    )


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
def test_mangled_documents_are_refused_with_codes_never_a_500(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    generated = operations(api.ids) | operations(api.ids, Mode.NEGATIVE)
    task_id = next(id_ for id_ in api.ids if base64.urlsafe_b64decode(id_).startswith(b"Task:"))

    @st.composite
    def spliced(draw: st.DrawFn) -> str:
        document = draw(generated)
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, len(document)))
            cut = draw(st.integers(0, 12))
            token = draw(st.sampled_from(TOKENS) | st.text(max_size=4))
            document = document[:at] + token + document[at + cut :]
        return document

    @settings(max_examples=300, **BUDGET)
    @given(spliced() | hostile_documents(task_id), WHO, st.sampled_from(["POST", "GET"]))
    def run(document: str, who: str | None, method: str) -> None:
        caplog.clear()
        note(f"{method} as {who}: {document[:3_000]!r}")
        assert_sound(api.graphql(document, None, who=who, method=method), caplog.records)

    run()


JSON_BODY = {"Content-Type": "application/json"}
QUERY = "{ __typename }"
SUBMIT = "mutation($i: SubmitAttemptInput!) { submitAttempt(input: $i) { __typename } }"


def _body(**fields: Any) -> bytes:
    return json.dumps({"query": QUERY, **fields}).encode()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)
# Each of the spec's parameters absent, of any JSON type or plausible; maybe a stray one.
ENVELOPES = st.fixed_dictionaries(
    {},
    optional={
        "query": JSON_VALUES | st.just(QUERY),
        "variables": JSON_VALUES | st.dictionaries(TEXT, JSON_VALUES, max_size=3),
        "operationName": JSON_VALUES,
        "extensions": JSON_VALUES
        | st.fixed_dictionaries({"persistedQuery": JSON_VALUES})
        | st.fixed_dictionaries(
            {"persistedQuery": st.fixed_dictionaries({"version": JSON_VALUES, "sha256Hash": TEXT})}
        ),
        "stray": JSON_VALUES,
    },
)


def test_request_envelopes_of_any_shape_never_fail_the_server(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    @settings(max_examples=200, **BUDGET)
    @given(ENVELOPES, st.booleans())
    def run(envelope: dict[str, Any], as_get: bool) -> None:
        caplog.clear()
        body = json.dumps(envelope)  # NaN and Infinity included: they are not JSON
        note(body[:3_000])
        # A GET carries each parameter as text, the structured ones as JSON.
        params = {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in envelope.items()
        }
        if as_get and len(str(httpx.QueryParams(params))) < 60_000:  # httpx's URL limit
            response = api.request("GET", params=params)
        else:
            response = api.request("POST", content=body.encode(), headers=JSON_BODY)
        assert_sound(response, caplog.records)

    run()


# Requests tests/test_malformed_requests.py does not make; only their soundness is checked
# here (that file pins the exact status of each class it covers).
HOSTILE: dict[str, dict[str, Any]] = {
    "variables a number": {"content": _body(variables=7)},
    "variables true": {"content": _body(variables=True)},
    "operationName a list": {"content": _body(operationName=["A"])},
    "operationName an object": {"content": _body(operationName={"A": 1})},
    "operationName false": {"content": _body(operationName=False)},
    "operationName unknown": {"content": _body(operationName=MARKER)},
    "extensions a list": {"content": _body(extensions=[1])},
    "extensions a number": {"content": _body(extensions=1)},
    "persistedQuery a string": {"content": _body(extensions={"persistedQuery": MARKER})},
    "persistedQuery of wrong types": {
        "content": _body(extensions={"persistedQuery": {"version": "1", "sha256Hash": 5}})
    },
    "persistedQuery hash a secret": {
        "content": json.dumps(
            {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": MARKER}}}
        ).encode()
    },
    "duplicate keys": {"content": b'{"query": "{ __typename }", "query": "mutation { x }"}'},
    "Infinity": {"content": b'{"query": "{ __typename }", "variables": {"x": Infinity}}'},
    "-Infinity": {"content": b'{"query": "{ __typename }", "variables": {"x": -Infinity}}'},
    "a number too big for a double": {
        "content": b'{"query": "{ __typename }", "variables": {"x": 1e999}}'
    },
    "an integer past 64 bits for an Int": {
        "content": json.dumps(
            {
                "query": "query($n: Int) { courses(first: $n) { __typename } }",
                "variables": {"n": 2**70},
            }
        ).encode()
    },
    "a NUL in the query": {"content": _body(query="{ __typename }\u0000")},
    "the query a list of strings": {"content": _body(query=[QUERY])},
    "UTF-16 without a charset": {"content": _body().decode().encode("utf-16")},
    "UTF-32 without a charset": {"content": _body().decode().encode("utf-32")},
    "a 1 MB single token": {"content": _body(query="{ " + "a" * 1_000_000 + " }")},
    "a 49 kB single name": {"content": _body(query="{ " + "a" * 49_000 + " }")},
    "a 1 MB string variable": {"content": _body(variables={"s": MARKER * 30_000})},
    "10,000 variables": {"content": _body(variables={f"v{i}": i for i in range(10_000)})},
    "a secret in an unused variable": {"content": _body(variables={"password": MARKER})},
    "a secret in a bad UUID": {
        "content": json.dumps(
            {"query": SUBMIT, "variables": {"i": {"id": MARKER, "taskId": MARKER}}}
        ).encode()
    },
    "an empty gzip body": {
        "content": gzip.compress(b""),
        "headers": {**JSON_BODY, "Content-Encoding": "gzip"},
    },
    "a deflate bomb": {
        "content": zlib.compress(b'{"query": "' + b" " * 5_000_000 + b'"}'),
        "headers": {**JSON_BODY, "Content-Encoding": "deflate"},
    },
    "gzip inside gzip": {
        "content": gzip.compress(gzip.compress(_body())),
        "headers": {**JSON_BODY, "Content-Encoding": "gzip"},
    },
    "a NUL in a header value": {"content": _body(), "headers": {**JSON_BODY, "X-Note": "a\x00b"}},
    "a NUL in the bearer token": {
        "content": _body(),
        "headers": {**JSON_BODY, "Authorization": f"Bearer {MARKER}\x00"},
    },
    "a secret as the bearer token": {
        "content": _body(),
        "headers": {**JSON_BODY, "Authorization": f"Bearer {MARKER}"},
    },
    "a secret in a JWT-shaped token": {
        "content": _body(),
        "headers": {**JSON_BODY, "Authorization": f"Bearer {_b64('{}')}.{_b64(MARKER)}.sig"},
    },
    "a 100 kB Authorization header": {
        "content": _body(),
        "headers": {**JSON_BODY, "Authorization": "Bearer " + "a" * 100_000},
    },
    "a 100 kB Accept header": {
        "content": _body(),
        "headers": {**JSON_BODY, "Accept": "application/json;q=0.1," * 5_000},
    },
    "charset latin-1": {
        "content": _body(),
        "headers": {"Content-Type": "application/json; charset=latin-1"},
    },
    "GET with variables a list": {
        "method": "GET",
        "params": {"query": QUERY, "variables": "[1]"},
    },
    "GET with extensions not JSON": {
        "method": "GET",
        "params": {"query": QUERY, "extensions": "{"},
    },
    "GET with a secret in the variables": {
        "method": "GET",
        "params": {
            "query": "query($s: String) { __typename }",
            "variables": json.dumps({"s": MARKER}),
        },
    },
    "HEAD": {"method": "HEAD", "params": {"query": QUERY}},
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_request_is_answered_soundly(
    api: Api, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    caplog.set_level(logging.DEBUG)
    case = {"method": "POST", "headers": JSON_BODY, **HOSTILE[name]}
    headers = {"Authorization": f"Bearer {api.tokens['learner']}", **case.pop("headers")}

    response = api.request(case.pop("method"), headers=headers, **case)

    assert_sound(response, caplog.records)


# "localtime" and the like: names a zone list may hold that are no IANA zone.
@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory", "Etc/GMT-14"])
def test_a_time_zone_the_server_accepts_works_in_every_query(
    api: Api, caplog: pytest.LogCaptureFixture, zone: str
) -> None:
    caplog.set_level(logging.DEBUG)
    learner = {"Authorization": f"Bearer {auth.mint_token(api.settings, user_id=uuid.uuid4())}"}
    set_zone = "mutation($z: String) { updateViewer(input: {timezone: $z}) { __typename } }"
    progress = "{ badges { nodes { ruleProgress { current } } } viewer { streak { current } } }"

    for query, variables in ((set_zone, {"z": zone}), (progress, {})):
        body = {"query": query, "variables": variables}
        assert_sound(api.request("POST", json=body, headers=learner), caplog.records)


async def test_a_failed_statement_names_no_bound_value(conn: AsyncConnection) -> None:
    # Its text goes into the log of a masked error; the value here is not what failed.
    with pytest.raises(DBAPIError) as failure:
        await conn.execute(text("SELECT CAST(:value AS text), 1 / 0"), {"value": MARKER})

    assert MARKER not in str(failure.value)
