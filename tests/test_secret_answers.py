"""Answers stay secret and the server grades, through the API: the two views of task content,
server grading per type, offline attempts graded by the key of their time, replays."""

import copy
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import content_document, content_import, grading, recompute
from domain.demo import DEMO_COURSE_PATH
from gql.ids import to_global_id
from tests.clock import Clock
from tests.graphql_client import GraphQLClient

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
# Every field that gives an answer away in the demo course (and `expected` inside `tests`).
KEY_FIELDS = {"answer", "answers", "explanation", "solution"}

TREE = """query($id: ID!) { course(id: $id) { sections { themes { tasks {
  id key type grading content
} } } } }"""
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Task { key content } } }"
SUBMIT = """mutation($input: SubmitAttemptInput!) { submitAttempt(input: $input) {
  __typename
  ... on SubmitAttemptSuccess {
    replayed explanation
    attempt { solved gradedBy answer }
    task { content state { status failureCount } }
  }
  ... on SubmitAttemptError { code message }
} }"""
SUBMIT_MANY = """mutation($inputs: [SubmitAttemptInput!]!) { submitAttempts(inputs: $inputs) {
  __typename
  ... on SubmitAttemptSuccess { attempt { clientId solved gradedBy } }
  ... on SubmitAttemptError { attemptId code }
} }"""


def demo_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEMO_COURSE_PATH.read_text(encoding="utf-8"))
    return data


def authored_tasks(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        task["key"]: task
        for course in data["courses"]
        for section in course["sections"]
        for theme in section["themes"]
        for task in theme["tasks"]
    }


async def load(engine: AsyncEngine, data: dict[str, Any], *, at: datetime | None = None) -> None:
    async with engine.begin() as conn:
        document = content_document.parse_document(data)
        await content_import.import_content(conn, document=document, now=at)


async def ids(engine: AsyncEngine) -> tuple[str, dict[str, uuid.UUID]]:
    async with engine.connect() as conn:
        course = (await conn.execute(text("SELECT id FROM course"))).scalar_one()
        tasks = dict((await conn.execute(text("SELECT key, id FROM task"))).all())
    return to_global_id("Course", course), tasks


def attempt(
    task_id: uuid.UUID, *, answer: Any = None, solved: bool | None = None, **more: Any
) -> dict[str, Any]:
    values = {
        "id": str(more.pop("attempt_id", uuid.uuid4())),
        "taskId": to_global_id("Task", task_id),
        "tries": 1,
        "timeSpentMs": 1000,
        "occurredAt": more.pop("occurred_at", NOW).isoformat(),
        "source": "MOBILE",
    }
    if answer is not None:
        values["answer"] = answer
    if solved is not None:
        values["solved"] = solved
    return values


async def submit(client: GraphQLClient, user: uuid.UUID, values: dict[str, Any]) -> Any:
    body = await client.execute(SUBMIT, {"input": values}, user=user)
    assert "errors" not in body, body
    return body["data"]["submitAttempt"]


@pytest.fixture
def client_at(make_client: Callable[..., GraphQLClient]) -> GraphQLClient:
    return make_client(clock=Clock(NOW))


def tree_tasks(body: dict[str, Any]) -> list[dict[str, Any]]:
    assert "errors" not in body, body
    return [
        task
        for section in body["data"]["course"]["sections"]
        for theme in section["themes"]
        for task in theme["tasks"]
    ]


def assert_no_key(content: dict[str, Any], where: str) -> None:
    assert not KEY_FIELDS & content.keys(), f"{where} shows {KEY_FIELDS & content.keys()}"
    for test in content.get("tests", []):
        assert "expected" not in test, f"{where} shows a test's expected output"


async def test_anonymous_clients_and_learners_see_no_answer_key_of_any_demo_task(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    data = demo_data()
    await load(clean_db, data)
    course_id, task_ids = await ids(clean_db)
    authored = authored_tasks(data)
    learner = uuid.uuid4()

    for who, token in [
        ("anonymous", None),
        ("a learner", client.token(learner)),
        ("a learner of no course yet", client.token(uuid.uuid4())),
    ]:
        tasks = tree_tasks(await client.execute(TREE, {"id": course_id}, token=token))
        assert {t["key"] for t in tasks} == set(authored)  # every task, not a sample
        for task in tasks:
            where = f"{who}, {task['key']}"
            assert_no_key(task["content"], where)
            assert task["content"] == grading.public_content(
                task["type"].lower(), authored[task["key"]]["content"]
            ), where
            assert task["content"]["question"]
        # the same through node refetch (another code path than the shared tree)
        body = await client.execute(NODES, {"ids": [t["id"] for t in tasks]}, token=token)
        for node in body["data"]["nodes"]:
            assert_no_key(node["content"], f"{who}, nodes(ids:) {node['key']}")

    admin = client.token(uuid.uuid4(), admin=True)
    tasks = tree_tasks(await client.execute(TREE, {"id": course_id}, token=admin))
    for task in tasks:
        assert task["content"] == authored[task["key"]]["content"], task["key"]
    graded = {t["type"]: t["grading"] for t in tasks}
    assert graded == {
        "SINGLE_CHOICE": "SERVER",
        "MULTIPLE_CHOICE": "SERVER",
        "TEXT": "SERVER",
        "NUMERIC": "SERVER",
        "ORDERING": "SERVER",
        "CODE": "CLIENT",
    }


def right_and_wrong(task: dict[str, Any]) -> tuple[Any, Any]:
    content = task["content"]
    match task["type"]:
        case "single_choice":
            return content["answer"], (content["answer"] + 1) % len(content["options"])
        case "multiple_choice":
            return list(reversed(content["answers"])), content["answers"][:-1]
        case "text":
            right = content["answers"][0]
            wrong_case = right.swapcase() if content.get("caseSensitive") else right + "x"
            return f"  {right.upper() if not content.get('caseSensitive') else right} ", (
                wrong_case if wrong_case != right else right + "x"
            )
        case "numeric":
            return content["answer"] + content.get("tolerance", 0), content["answer"] + 1 + (
                content.get("tolerance", 0) * 2
            )
        case "ordering":
            return content["answer"], list(reversed(content["answer"]))
    raise AssertionError(task["type"])


async def test_every_server_graded_demo_task_grades_right_and_wrong_answers(
    client_at: GraphQLClient, clean_db: AsyncEngine
) -> None:
    data = demo_data()
    await load(clean_db, data)
    _, task_ids = await ids(clean_db)
    learner = uuid.uuid4()
    graded = 0
    for key, task in authored_tasks(data).items():
        if task["type"] == "code":
            continue
        right, wrong = right_and_wrong(task)
        # a wrong answer is not solved, whatever the client says
        failed = await submit(client_at, learner, attempt(task_ids[key], answer=wrong, solved=True))
        assert failed["__typename"] == "SubmitAttemptSuccess", (key, failed)
        assert failed["attempt"] == {"solved": False, "gradedBy": "SERVER", "answer": wrong}, key
        assert failed["task"]["state"]["status"] == "IN_PROGRESS", key
        assert failed["explanation"] is None, key
        assert_no_key(failed["task"]["content"], key)
        # the right one is, even when the client says it is not
        solved = await submit(
            client_at, learner, attempt(task_ids[key], answer=right, solved=False)
        )
        assert solved["attempt"]["solved"] is True, (key, right)
        assert solved["task"]["state"]["status"] == "SOLVED"
        # once solved, the learner sees the explanation and the key
        assert solved["explanation"] == task["content"]["explanation"]
        assert solved["task"]["content"] == task["content"]
        graded += 1
    assert graded == 26


async def test_the_client_grades_code_tasks_and_says_so(
    client_at: GraphQLClient, clean_db: AsyncEngine
) -> None:
    data = demo_data()
    await load(clean_db, data)
    _, task_ids = await ids(clean_db)
    code = next(k for k, t in authored_tasks(data).items() if t["type"] == "code")

    missing = await submit(client_at, uuid.uuid4(), attempt(task_ids[code], answer="def f(): 1"))
    assert missing["__typename"] == "SubmitAttemptError"
    assert missing["code"] == "SOLVED_REQUIRED"

    result = await submit(client_at, uuid.uuid4(), attempt(task_ids[code], solved=True))
    assert result["attempt"] == {"solved": True, "gradedBy": "CLIENT", "answer": None}


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (None, "ANSWER_REQUIRED"),
        ("2", "INVALID_ANSWER"),
        ([2], "INVALID_ANSWER"),
        (17, "INVALID_ANSWER"),
        ({"index": 2}, "INVALID_ANSWER"),
        ("x" * 20_000, "ANSWER_TOO_LARGE"),
    ],
)
async def test_a_missing_or_malformed_answer_is_a_typed_error_that_writes_nothing(
    client_at: GraphQLClient, clean_db: AsyncEngine, answer: Any, code: str
) -> None:
    data = demo_data()
    await load(clean_db, data)
    _, task_ids = await ids(clean_db)
    single = next(k for k, t in authored_tasks(data).items() if t["type"] == "single_choice")

    result = await submit(
        client_at, uuid.uuid4(), attempt(task_ids[single], answer=answer, solved=True)
    )

    assert result["__typename"] == "SubmitAttemptError"
    assert result["code"] == code
    assert orjson.dumps(answer).decode() not in result["message"]
    async with clean_db.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM user_task_attempt"))).scalar() == 0


def small_course(answer: int, *, reveal_after_failures: int | None = None) -> dict[str, Any]:
    task = {
        "key": "q",
        "title": "Q",
        "type": "single_choice",
        "content": {
            "question": "?",
            "options": ["a", "b", "c"],
            "answer": answer,
            "explanation": "why",
        },
    }
    course: dict[str, Any] = {
        "key": "c",
        "title": "C",
        "grading": "server",
        "sections": [
            {"key": "s", "title": "S", "themes": [{"key": "t", "title": "T", "tasks": [task]}]}
        ],
    }
    if reveal_after_failures is not None:
        course["reveal_after_failures"] = reveal_after_failures
    return {"courses": [course]}


async def test_the_course_may_reveal_the_key_after_failures(
    client_at: GraphQLClient, clean_db: AsyncEngine
) -> None:
    await load(clean_db, small_course(1, reveal_after_failures=2))
    _, task_ids = await ids(clean_db)
    learner = uuid.uuid4()

    first = await submit(client_at, learner, attempt(task_ids["q"], answer=0))
    assert first["explanation"] is None
    assert "answer" not in first["task"]["content"]
    second = await submit(client_at, learner, attempt(task_ids["q"], answer=2))
    assert second["attempt"]["solved"] is False
    assert second["explanation"] == "why"
    assert second["task"]["content"]["answer"] == 1
    # another learner, who has not failed it, still sees no key
    body = await client_at.execute(
        "query($id: ID!) { node(id: $id) { ... on Task { content } } }",
        {"id": to_global_id("Task", task_ids["q"])},
        user=uuid.uuid4(),
    )
    assert body["data"]["node"]["content"] == {"question": "?", "options": ["a", "b", "c"]}


async def test_an_offline_attempt_is_graded_by_the_key_valid_when_it_happened(
    client_at: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # the key was option 1 until an hour ago, then option 2
    await load(clean_db, small_course(1), at=NOW - timedelta(hours=2))
    await load(clean_db, small_course(2), at=NOW - timedelta(hours=1))
    _, task_ids = await ids(clean_db)
    learner = uuid.uuid4()
    before_change = NOW - timedelta(minutes=90)
    after_change = NOW - timedelta(minutes=30)

    # synced now, made offline before the change: the old key grades it
    old_right = await submit(
        client_at, learner, attempt(task_ids["q"], answer=1, occurred_at=before_change)
    )
    assert old_right["attempt"]["solved"] is True
    # the same answer made after the change is wrong
    late = await submit(
        client_at, uuid.uuid4(), attempt(task_ids["q"], answer=1, occurred_at=after_change)
    )
    assert late["attempt"]["solved"] is False
    new_right = await submit(
        client_at, uuid.uuid4(), attempt(task_ids["q"], answer=2, occurred_at=after_change)
    )
    assert new_right["attempt"]["solved"] is True
    # in a batch too, item by item
    batch = await client_at.execute(
        SUBMIT_MANY,
        {
            "inputs": [
                attempt(task_ids["q"], answer=1, occurred_at=before_change),
                attempt(task_ids["q"], answer=1, occurred_at=after_change),
                attempt(task_ids["q"]),
            ]
        },
        user=uuid.uuid4(),
    )
    items = batch["data"]["submitAttempts"]
    assert [i.get("attempt", {}).get("solved") for i in items] == [True, False, None]
    assert items[2]["code"] == "ANSWER_REQUIRED"


async def test_a_replay_returns_the_stored_verdict_after_the_key_changed_and_recompute_keeps_it(
    client_at: GraphQLClient, clean_db: AsyncEngine
) -> None:
    await load(clean_db, small_course(1), at=NOW - timedelta(hours=2))
    _, task_ids = await ids(clean_db)
    learner = uuid.uuid4()
    values = attempt(task_ids["q"], answer=1, occurred_at=NOW - timedelta(minutes=5))
    first = await submit(client_at, learner, values)
    assert first["attempt"]["solved"] is True

    # the key changes, valid from before the attempt's occurredAt: grading it again would
    # now find it wrong
    changed = small_course(2)
    await load(clean_db, changed, at=NOW - timedelta(hours=1))

    replay = await submit(client_at, learner, values)
    assert replay["replayed"] is True
    assert replay["attempt"]["solved"] is True
    conflict = await submit(client_at, learner, {**values, "answer": 2})
    assert conflict["code"] == "IDEMPOTENCY_CONFLICT"

    # the verdict is a fact of the attempt: a recompute does not regrade it
    async with clean_db.begin() as conn:
        assert await recompute.check_users(conn, user_ids=[learner]) == []
    async with clean_db.begin() as conn:
        await recompute.rebuild_users(conn, user_ids=[learner])
    async with clean_db.connect() as conn:
        status = (await conn.execute(text("SELECT status FROM user_task_state"))).scalar_one()
    assert status == "solved"


async def test_importing_the_same_keys_again_keeps_one_history_row_per_change(
    clean_db: AsyncEngine,
) -> None:
    data = small_course(1)
    await load(clean_db, data, at=NOW - timedelta(hours=3))
    await load(clean_db, copy.deepcopy(data), at=NOW - timedelta(hours=2))
    await load(clean_db, small_course(2), at=NOW - timedelta(hours=1))
    async with clean_db.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT valid_from, content->'answer' FROM task_key_history ORDER BY valid_from"
                )
            )
        ).all()
    assert [(at, answer) for at, answer in rows] == [
        (NOW - timedelta(hours=3), 1),
        (NOW - timedelta(hours=1), 2),
    ]


async def test_the_shared_tree_makes_each_tasks_public_view_once_per_content_version(
    client: GraphQLClient, clean_db: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await load(clean_db, demo_data())
    course_id, task_ids = await ids(clean_db)
    made: list[str] = []
    original = grading.public_content

    def counted(task_type: str, content: dict[str, Any]) -> dict[str, Any]:
        made.append(task_type)
        return original(task_type, content)

    monkeypatch.setattr(grading, "public_content", counted)

    # Two learners and an anonymous client read the whole tree's content, twice each
    for token in [client.token(uuid.uuid4()), client.token(uuid.uuid4()), None] * 2:
        tree_tasks(await client.execute(TREE, {"id": course_id}, token=token))

    # Each task's public view was made once, and kept on the shared tree
    assert len(made) == len(task_ids)
    # A content change makes a new tree, whose views are made again
    changed = demo_data()
    changed["courses"][0]["title"] = "Python Foundations, revised"
    await load(clean_db, changed)
    tree_tasks(await client.execute(TREE, {"id": course_id}))
    assert len(made) == 2 * len(task_ids)
