"""The execution fast paths cannot drift from graphql-core: generated queries over the real
schema and real data (a learner's progress, badges, the queue) get byte-identical answers
from the app with ``fast_execution`` on and from one running graphql-core's standard
executor, errors, nulls, aliases and fragments included (errors in any order: see
``answer``).

Hypothesis drives examples synchronously, so (as in tests/test_fuzz.py) they run on this
module's own event loop, against its own database.
"""

import asyncio
import base64
import copy
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import graphql
import httpx
import orjson
import pytest
import yaml
from hypothesis import given, note, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes, queries
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db import engine as db_engine
from db import migrate
from db.engine import Database
from domain import content_document, content_import
from domain.demo import DEMO_COURSE_PATH
from gql import auth
from gql.app import create_app
from gql.ids import to_global_id
from gql.schema import build_schema
from gql.settings import Settings
from tests.examples import example
from tests.test_fuzz import BUDGET, NOW, SCHEMA, as_variables, scalars

SUBMIT_MANY = """mutation($inputs: [SubmitAttemptInput!]!) {
  submitAttempts(inputs: $inputs) { __typename }
}"""
RESERVE = "mutation($c: ID!) { reserveTasks(courseId: $c, limit: 3) { __typename } }"


@dataclass
class Apps:
    loop: asyncio.AbstractEventLoop
    fast: httpx.AsyncClient
    standard: httpx.AsyncClient
    tokens: dict[str, str]
    ids: list[str]

    def both(
        self, query: str, variables: dict[str, Any] | None, who: str | None
    ) -> tuple[httpx.Response, httpx.Response]:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        body = {"query": query, "variables": variables}

        async def post(http: httpx.AsyncClient) -> httpx.Response:
            return await http.post("/graphql", json=body, headers=headers)

        return (
            self.loop.run_until_complete(post(self.fast)),
            self.loop.run_until_complete(post(self.standard)),
        )


def _answer(task: dict[str, Any]) -> dict[str, Any]:
    content = task["content"]
    if task["type"] == "code":
        return {"solved": True}
    right = {"text": lambda: content["answers"][0], "multiple_choice": lambda: content["answers"]}
    return {"answer": right.get(task["type"], lambda: content["answer"])()}


async def _seed(engine: AsyncEngine, fast: httpx.AsyncClient, token: str) -> list[str]:
    """The demo content, and a learner who solved every third task and reserved some."""
    data = yaml.safe_load(DEMO_COURSE_PATH.read_text(encoding="utf-8"))
    async with engine.begin() as conn:
        await content_import.import_content(
            conn, document=content_document.parse_document(copy.deepcopy(data))
        )
        keys = dict((await conn.execute(text("SELECT key, id FROM task"))).all())
        course = (await conn.execute(text("SELECT id FROM course"))).scalar_one()
    tasks = [
        task
        for section in data["courses"][0]["sections"]
        for theme in section["themes"]
        for task in theme["tasks"]
    ]
    inputs = [
        {
            "id": str(uuid.UUID(int=i + 1)),
            "taskId": to_global_id("Task", keys[task["key"]]),
            "tries": 1 + i % 2,
            "timeSpentMs": 1000 * (i + 1),
            "occurredAt": (NOW.replace(hour=8 + i % 3)).isoformat(),
            "source": "WEB",
            **_answer(task),
        }
        for i, task in enumerate(tasks)
        if i % 3 == 0
    ]
    headers = {"Authorization": f"Bearer {token}"}
    for body in (
        {"query": SUBMIT_MANY, "variables": {"inputs": inputs}},
        {"query": RESERVE, "variables": {"c": to_global_id("Course", course)}},
    ):
        response = await fast.post("/graphql", json=body, headers=headers)
        assert "errors" not in response.json(), response.text
    ids = []
    async with engine.connect() as conn:
        for type_name in ("Course", "Section", "Theme", "Task", "Badge", "BadgeRule"):
            table = "badge_rule" if type_name == "BadgeRule" else type_name.lower()
            rows = await conn.execute(text(f"SELECT id FROM {table} ORDER BY key LIMIT 4"))
            ids += [to_global_id(type_name, id_) for id_ in rows.scalars()]
    return ids


@pytest.fixture(scope="module")
def apps(make_database) -> Iterator[Apps]:  # type: ignore[no-untyped-def]
    url = make_database()
    migrate.upgrade(url)
    loop = asyncio.new_event_loop()
    engine = db_engine.create_engine(url, pool_size=2)
    fast_settings = Settings(database_url=url, env="development", fast_execution=True)
    standard_settings = fast_settings.model_copy(update={"fast_execution": False})
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(s, Database(engine), lambda: NOW)),
            base_url="http://testserver",
        )
        for s in (fast_settings, standard_settings)
    ]
    learner = auth.mint_token(fast_settings, user_id=uuid.uuid4())
    admin = auth.mint_token(fast_settings, user_id=uuid.uuid4(), admin=True)
    try:
        ids = loop.run_until_complete(_seed(engine, clients[0], learner))
        yield Apps(loop, clients[0], clients[1], {"learner": learner, "admin": admin}, ids)
    finally:
        for http in clients:
            loop.run_until_complete(http.aclose())
        loop.run_until_complete(engine.dispose())
        loop.close()


def _reshaped(document: graphql.DocumentNode, rng: random.Random) -> graphql.DocumentNode:
    """``document`` with some fields aliased, repeated under another alias, wrapped in an
    inline fragment or skipped, and ``__typename`` added here and there: shapes the
    generator does not write and a fast path must merge and order like graphql-core."""
    counter = iter(range(10_000))

    def field(item: Any, **changes: Any) -> graphql.FieldNode:
        # The generator's nodes are frozen: build new ones.
        values = {
            name: getattr(item, name, None)
            for name in ("alias", "name", "arguments", "directives", "selection_set")
        }
        return graphql.FieldNode(**{**values, **changes})

    def alias() -> graphql.NameNode:
        return graphql.NameNode(value=f"a{next(counter)}")

    def selections(items: tuple[Any, ...]) -> tuple[Any, ...]:
        out: list[Any] = []
        for item in items:
            if isinstance(item, graphql.FieldNode) and item.selection_set is not None:
                inner = selections(item.selection_set.selections)
                item = field(item, selection_set=graphql.SelectionSetNode(selections=inner))
            roll = rng.random()
            if isinstance(item, graphql.FieldNode) and roll < 0.15:
                out += [item, field(item, alias=alias())]
            elif isinstance(item, graphql.FieldNode) and roll < 0.25:
                out.append(field(item, alias=alias()))
            elif roll < 0.32:
                fragment = graphql.SelectionSetNode(selections=(item,))
                out.append(graphql.InlineFragmentNode(selection_set=fragment, directives=()))
            elif isinstance(item, graphql.FieldNode) and roll < 0.36:
                skip = graphql.DirectiveNode(
                    name=graphql.NameNode(value="include"),
                    arguments=(
                        graphql.ArgumentNode(
                            name=graphql.NameNode(value="if"),
                            value=graphql.BooleanValueNode(value=False),
                        ),
                    ),
                )
                typename = graphql.FieldNode(
                    name=graphql.NameNode(value="__typename"), arguments=(), directives=()
                )
                out += [item, typename, field(item, alias=alias(), directives=(skip,))]
            else:
                out.append(item)
        return tuple(out)

    operations = []
    for definition in document.definitions:
        assert isinstance(definition, graphql.OperationDefinitionNode)
        body = graphql.SelectionSetNode(selections=selections(definition.selection_set.selections))
        operations.append(
            graphql.OperationDefinitionNode(
                operation=definition.operation,
                name=definition.name,
                variable_definitions=definition.variable_definitions,
                directives=definition.directives,
                selection_set=body,
            )
        )
    return graphql.DocumentNode(definitions=tuple(operations))


def documents(known_ids: list[str]) -> st.SearchStrategy[str]:
    """Queries over the whole schema, and as many rooted at objects that exist (a course
    page's depth is rarely reached from ids that are half unknown)."""
    everywhere = queries(
        SCHEMA,
        custom_scalars=scalars(known_ids, malformed=False),
        print_ast=lambda document: document,
    )
    known_only = {**scalars(known_ids, malformed=False)}
    known_only["ID"] = st.sampled_from(known_ids).map(nodes.String)
    rooted = queries(
        SCHEMA,
        fields=["course", "courses", "node", "nodes", "viewer", "badges"],
        custom_scalars=known_only,
        print_ast=lambda document: document,
    )
    return st.tuples(everywhere | rooted, st.randoms(use_true_random=False)).map(
        lambda pair: graphql.print_ast(_reshaped(pair[0], pair[1]))  # type: ignore[arg-type]
    )


def answer(response: httpx.Response) -> tuple[int, bytes, list[bytes]]:
    """The status, and the body byte for byte except the order of ``errors``: fields that
    fail concurrently (two async resolvers) report in the order they fail, with either
    executor, and the specification leaves that order open."""
    body = orjson.loads(response.content)
    errors = sorted(orjson.dumps(error) for error in body.pop("errors", []))
    return response.status_code, orjson.dumps(body), errors


def test_both_executors_answer_generated_queries_byte_for_byte(apps: Apps) -> None:
    @settings(max_examples=200, **BUDGET)
    @given(documents(apps.ids), st.booleans(), st.sampled_from(["learner", "admin", None]))
    def run(document: str, use_variables: bool, who: str | None) -> None:
        query, variables = as_variables(document) if use_variables else (document, None)
        note(f"as {who}: {query[:3_000]!r} {repr(variables)[:3_000]}")
        fast, standard = apps.both(query, variables, who)
        assert answer(fast) == answer(standard)

    run()


def test_the_example_pages_answer_alike(apps: Apps) -> None:
    def first(kind: str) -> str:
        return next(i for i in apps.ids if _kind(i).startswith(f"{kind}:"))

    variables = {
        "course_page": {"id": first("Course")},
        "task_page": {"id": first("Task")},
        "badge_catalog": {},
        "activity_calendar": {"from": "2026-05-01", "to": "2026-06-30"},
    }
    for name, values in variables.items():
        for who in ("learner", "admin", None):
            fast, standard = apps.both(example(name), values, who)
            assert fast.status_code == 200, (name, who)
            assert answer(fast) == answer(standard), (name, who)
            if who == "learner":
                assert "errors" not in fast.json(), (name, fast.text)


def _kind(global_id: str) -> str:
    padded = global_id + "=" * (-len(global_id) % 4)
    return base64.urlsafe_b64decode(padded).decode()


def test_no_strawberry_extension_is_silently_skipped() -> None:
    # Operations run through gql/operations.py, not Strawberry's pipeline: an extension
    # added to the schema would never run. Adding one means running it there first.
    for fast in (True, False):
        schema = build_schema(Settings(fast_execution=fast))
        assert list(schema.extensions) == [], "gql/operations.py does not run extensions"
