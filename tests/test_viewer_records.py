"""The viewer's own records: enrollments, attempts (paged), and the activity range."""

import base64
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gql.ids import to_global_id
from tests.attempt_helpers import SUBMIT_MANY, attempt_input, drift, submit
from tests.clock import Clock
from tests.conftest import StatementCounter
from tests.factories import CourseTree, make_course
from tests.graphql_client import GraphQLClient, error_codes

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

ENROLLMENTS = """{ viewer { enrollments { nodes {
  status course { key } startedAt completedAt
} } } }"""

ENROLLMENT_FIELDS = """
  __typename
  ... on EnrollmentSuccess { enrollment { status course { key } startedAt completedAt } }
  ... on EnrollmentError { code message }
"""
ENROLL = f"mutation($id: ID!) {{ enroll(courseId: $id) {{ {ENROLLMENT_FIELDS} }} }}"
PAUSE = f"mutation($id: ID!) {{ pauseCourse(courseId: $id) {{ {ENROLLMENT_FIELDS} }} }}"
RESUME = f"mutation($id: ID!) {{ resumeCourse(courseId: $id) {{ {ENROLLMENT_FIELDS} }} }}"

ATTEMPTS = """query($first: Int!, $after: String, $taskId: ID) { viewer {
  attempts(first: $first, after: $after, taskId: $taskId) {
    nodes { id: clientId solved occurredAt task { key } }
    pageInfo { endCursor hasNextPage }
  }
} }"""

ACTIVITY = """query($from: Date!, $to: Date!) { viewer {
  activity(from: $from, to: $to) { day attempts solved }
} }"""


async def _course(engine: AsyncEngine, tasks: int = 2) -> CourseTree:
    async with engine.begin() as conn:
        return await make_course(conn, sections=1, themes=1, tasks=tasks)


async def _key(engine: AsyncEngine, course: CourseTree) -> str:
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT key FROM course WHERE id = :id"), {"id": course.course_id}
        )
        return str(result.scalar_one())


def _course_id(course: CourseTree) -> str:
    return to_global_id("Course", course.course_id)


async def _mutate(
    client: GraphQLClient, mutation: str, course_id: str, user: uuid.UUID
) -> dict[str, Any]:
    body = await client.execute(mutation, {"id": course_id}, user=user)
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


async def _enrollments(client: GraphQLClient, user: uuid.UUID) -> list[dict[str, Any]]:
    body = await client.execute(ENROLLMENTS, user=user)
    assert "errors" not in body, body
    enrollments: list[dict[str, Any]] = body["data"]["viewer"]["enrollments"]["nodes"]
    return enrollments


# --- enrollments ----------------------------------------------------------------------


async def test_enrollments_list_explicit_and_attempt_made_ones_oldest_first(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given two courses; the second has a single task
    first, second = await _course(clean_db), await _course(clean_db, tasks=1)
    clock = Clock(NOW)
    client, user = make_client(clock=clock), uuid.uuid4()

    # When the learner enrolls in the first, and a day later solves the second's only task
    await _mutate(client, ENROLL, _course_id(first), user)
    clock.now = NOW + timedelta(days=1)
    solved_at = NOW + timedelta(hours=23)
    result = await submit(client, user, task_id=second.task_ids[0], occurred_at=solved_at)
    assert result["__typename"] == "SubmitAttemptSuccess"

    # Then both enrollments show, oldest first; the second is completed
    assert await _enrollments(client, user) == [
        {
            "status": "ACTIVE",
            "course": {"key": await _key(clean_db, first)},
            "startedAt": NOW.isoformat(),
            "completedAt": None,
        },
        {
            "status": "COMPLETED",
            "course": {"key": await _key(clean_db, second)},
            "startedAt": (NOW + timedelta(days=1)).isoformat(),
            "completedAt": solved_at.isoformat(),
        },
    ]
    assert await drift(clean_db) == []


async def test_an_attempt_on_a_course_not_enrolled_enrolls_the_learner(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner with no enrollment
    course = await _course(clean_db)
    client, user = make_client(clock=lambda: NOW), uuid.uuid4()
    assert await _enrollments(client, user) == []

    # When they fail an attempt on one of the course's tasks
    await submit(
        client, user, task_id=course.task_ids[0], solved=False, occurred_at=NOW - timedelta(hours=1)
    )

    # Then they are enrolled, active, from the server's time of recording
    assert await _enrollments(client, user) == [
        {
            "status": "ACTIVE",
            "course": {"key": await _key(clean_db, course)},
            "startedAt": NOW.isoformat(),
            "completedAt": None,
        }
    ]


async def test_enroll_is_idempotent_and_keeps_the_first_start(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner enrolled yesterday
    course = await _course(clean_db)
    clock = Clock(NOW - timedelta(days=1))
    client, user = make_client(clock=clock), uuid.uuid4()
    first = await _mutate(client, ENROLL, _course_id(course), user)

    # When they enroll again today
    clock.now = NOW
    again = await _mutate(client, ENROLL, _course_id(course), user)

    # Then the same enrollment comes back, and there is only one
    assert again == first
    assert again["enrollment"]["startedAt"] == (NOW - timedelta(days=1)).isoformat()
    assert len(await _enrollments(client, user)) == 1


async def test_enroll_in_an_unknown_course_is_a_typed_error_and_writes_nothing(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    user = uuid.uuid4()

    result = await _mutate(client, ENROLL, to_global_id("Course", uuid.uuid4()), user)

    assert result["__typename"] == "EnrollmentError"
    assert result["code"] == "COURSE_NOT_FOUND"
    assert await _enrollments(client, user) == []


async def test_enroll_with_an_id_of_another_type_is_course_not_found(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    course = await _course(clean_db)

    body = await client.execute(
        ENROLL, {"id": to_global_id("Task", course.task_ids[0])}, user=uuid.uuid4()
    )

    assert "errors" not in body
    assert body["data"]["enroll"]["code"] == "COURSE_NOT_FOUND"


async def test_pause_and_resume_move_the_status_both_ways(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    # Given an enrolled learner
    course = await _course(clean_db)
    user = uuid.uuid4()
    await _mutate(client, ENROLL, _course_id(course), user)

    # When they pause twice, then resume twice
    paused = await _mutate(client, PAUSE, _course_id(course), user)
    paused_again = await _mutate(client, PAUSE, _course_id(course), user)
    resumed = await _mutate(client, RESUME, _course_id(course), user)
    resumed_again = await _mutate(client, RESUME, _course_id(course), user)

    # Then each step reports the status it left, and repeating one changes nothing
    assert paused["enrollment"]["status"] == "PAUSED"
    assert paused_again == paused
    assert resumed["enrollment"]["status"] == "ACTIVE"
    assert resumed_again == resumed
    assert [e["status"] for e in await _enrollments(client, user)] == ["ACTIVE"]


@pytest.mark.parametrize("mutation", [PAUSE, RESUME])
async def test_pause_or_resume_without_an_enrollment_is_not_enrolled(
    client: GraphQLClient, clean_db: AsyncEngine, mutation: str
) -> None:
    course = await _course(clean_db)
    user = uuid.uuid4()

    result = await _mutate(client, mutation, _course_id(course), user)

    assert result["__typename"] == "EnrollmentError"
    assert result["code"] == "NOT_ENROLLED"
    assert await _enrollments(client, user) == []


@pytest.mark.parametrize("mutation", [PAUSE, RESUME])
async def test_a_completed_course_cannot_be_paused_or_resumed(
    client: GraphQLClient, clean_db: AsyncEngine, mutation: str
) -> None:
    # Given a learner who completed a one-task course
    course = await _course(clean_db, tasks=1)
    user = uuid.uuid4()
    await submit(client, user, task_id=course.task_ids[0])

    # When they try to pause or resume it
    result = await _mutate(client, mutation, _course_id(course), user)

    # Then it is refused, and the course stays completed
    assert result["code"] == "ALREADY_COMPLETED"
    assert [e["status"] for e in await _enrollments(client, user)] == ["COMPLETED"]


# --- attempts ---------------------------------------------------------------------------


async def _submit_all(client: GraphQLClient, user: uuid.UUID, inputs: list[dict[str, Any]]) -> None:
    body = await client.execute(SUBMIT_MANY, {"inputs": inputs}, user=user)
    assert [r["__typename"] for r in body["data"]["submitAttempts"]] == [
        "SubmitAttemptSuccess"
    ] * len(inputs), body


def _newest_first(inputs: list[dict[str, Any]]) -> list[str]:
    ordered = sorted(
        inputs,
        key=lambda i: (datetime.fromisoformat(i["occurredAt"]), uuid.UUID(i["id"])),
        reverse=True,
    )
    return [i["id"] for i in ordered]


async def _attempts(client: GraphQLClient, user: uuid.UUID, **variables: Any) -> dict[str, Any]:
    body = await client.execute(ATTEMPTS, {"first": 20, **variables}, user=user)
    assert "errors" not in body, body
    connection: dict[str, Any] = body["data"]["viewer"]["attempts"]
    return {"nodes": connection["nodes"], **connection["pageInfo"]}


async def _all_pages(
    client: GraphQLClient, user: uuid.UUID, first: int, **variables: Any
) -> list[dict[str, Any]]:
    pages, after = [], None
    while True:
        page = await _attempts(client, user, first=first, after=after, **variables)
        pages.append(page)
        if not page["hasNextPage"]:
            return pages
        after = page["endCursor"]


def _history(tree: CourseTree) -> list[dict[str, Any]]:
    """Seven attempts on two tasks; two pairs share an occurredAt (ordered by id then)."""
    minutes = [50, 40, 40, 30, 20, 20, 10]
    return [
        attempt_input(
            tree.task_ids[n % 2],
            solved=n % 3 == 0,
            occurred_at=NOW - timedelta(minutes=m),
        )
        for n, m in enumerate(minutes)
    ]


async def test_attempts_page_newest_first_without_duplicates_or_gaps(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given seven attempts, some at the same instant
    tree = await _course(clean_db)
    client, user = make_client(clock=lambda: NOW), uuid.uuid4()
    history = _history(tree)
    await _submit_all(client, user, history)

    # When the learner walks them three at a time
    pages = await _all_pages(client, user, first=3)

    # Then they come newest first (ties by id), each exactly once, in pages of 3, 3, 1
    ids = [node["id"] for page in pages for node in page["nodes"]]
    assert ids == _newest_first(history)
    assert [len(p["nodes"]) for p in pages] == [3, 3, 1]
    assert [p["hasNextPage"] for p in pages] == [True, True, False]
    by_id = {i["id"]: i for i in history}
    for node in (n for p in pages for n in p["nodes"]):
        assert node["solved"] == by_id[node["id"]]["solved"]
        assert datetime.fromisoformat(node["occurredAt"]) == datetime.fromisoformat(
            by_id[node["id"]]["occurredAt"]
        )


@pytest.mark.parametrize("first", [1, 2, 7, 100])
async def test_every_page_size_yields_the_same_sequence(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine, first: int
) -> None:
    tree = await _course(clean_db)
    client, user = make_client(clock=lambda: NOW), uuid.uuid4()
    history = _history(tree)
    await _submit_all(client, user, history)

    pages = await _all_pages(client, user, first=first)

    assert [n["id"] for p in pages for n in p["nodes"]] == _newest_first(history)
    assert pages[-1]["hasNextPage"] is False


async def test_the_page_after_the_last_is_empty(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    tree = await _course(clean_db)
    client, user = make_client(clock=lambda: NOW), uuid.uuid4()
    await _submit_all(client, user, _history(tree))
    last = await _attempts(client, user, first=7)

    after_last = await _attempts(client, user, first=7, after=last["endCursor"])

    assert last["hasNextPage"] is False
    assert after_last == {"nodes": [], "endCursor": None, "hasNextPage": False}


async def test_attempts_filter_by_task(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given attempts on two tasks
    tree = await _course(clean_db)
    client, user = make_client(clock=lambda: NOW), uuid.uuid4()
    history = _history(tree)
    await _submit_all(client, user, history)
    keys = {n["task"]["key"] for n in (await _attempts(client, user))["nodes"]}
    assert len(keys) == 2

    # When the learner pages through one task's attempts, two at a time
    task = to_global_id("Task", tree.task_ids[1])
    pages = await _all_pages(client, user, first=2, taskId=task)

    # Then only that task's attempts come, newest first
    expected = [i for i in history if i["taskId"] == task]
    assert [n["id"] for p in pages for n in p["nodes"]] == _newest_first(expected)
    assert len({n["task"]["key"] for p in pages for n in p["nodes"]}) == 1


async def test_a_learner_without_attempts_gets_an_empty_page(client: GraphQLClient) -> None:
    assert await _attempts(client, uuid.uuid4()) == {
        "nodes": [],
        "endCursor": None,
        "hasNextPage": False,
    }


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "%%%%",
        "é",
        _b64(b"\xff\xfe"),
        _b64(b"2026-03-10T12:00:00+00:00"),
        _b64(b"yesterday|" + str(uuid.uuid4()).encode()),
        _b64(b"2026-03-10T12:00:00+00:00|not-a-uuid"),
    ],
)
async def test_a_bad_cursor_is_bad_user_input(client: GraphQLClient, cursor: str) -> None:
    body = await client.execute(ATTEMPTS, {"first": 5, "after": cursor}, user=uuid.uuid4())

    assert error_codes(body) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_a_page_size_out_of_range_is_bad_user_input(
    client: GraphQLClient, first: int
) -> None:
    body = await client.execute(ATTEMPTS, {"first": first}, user=uuid.uuid4())

    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_a_learner_never_sees_another_learners_attempts(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given Alice and Bob attempting the same task, Alice with the same attempt id as Bob
    tree = await _course(clean_db)
    client = make_client(clock=lambda: NOW)
    alice, bob = uuid.uuid4(), uuid.uuid4()
    shared_id = uuid.uuid4()
    alices = [
        attempt_input(tree.task_ids[0], attempt_id=shared_id, occurred_at=NOW),
        attempt_input(tree.task_ids[0], occurred_at=NOW - timedelta(minutes=1)),
        attempt_input(tree.task_ids[1], occurred_at=NOW - timedelta(days=1)),
    ]
    bobs = [
        attempt_input(tree.task_ids[0], attempt_id=shared_id, solved=False, occurred_at=NOW),
        attempt_input(tree.task_ids[0], occurred_at=NOW - timedelta(minutes=5)),
    ]
    await _submit_all(client, alice, alices)
    await _submit_all(client, bob, bobs)
    alice_first = await _attempts(client, alice, first=1)

    # When Bob lists everything, filters by the task, and pages with Alice's cursor
    everything = await _attempts(client, bob)
    filtered = await _attempts(client, bob, taskId=to_global_id("Task", tree.task_ids[0]))
    other_task = await _attempts(client, bob, taskId=to_global_id("Task", tree.task_ids[1]))
    with_alices_cursor = await _attempts(client, bob, after=alice_first["endCursor"])
    activity = await client.execute(ACTIVITY, {"from": "2026-03-01", "to": "2026-03-31"}, user=bob)

    # Then he sees only his own attempts and activity
    assert [n["id"] for n in everything["nodes"]] == _newest_first(bobs)
    assert [n["solved"] for n in everything["nodes"]] == [False, True]
    assert filtered["nodes"] == everything["nodes"]
    assert other_task["nodes"] == []
    assert [n["id"] for n in with_alices_cursor["nodes"]] == [bobs[1]["id"]]
    assert activity["data"]["viewer"]["activity"] == [
        {"day": "2026-03-10", "attempts": 2, "solved": 1}
    ]
    assert await drift(clean_db) == []


# --- activity range -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last"),
    [("2026-03-10", "2026-03-09"), ("2025-01-01", "2026-02-06"), ("2026-03-10", "2027-12-31")],
)
async def test_an_activity_range_backwards_or_over_400_days_is_bad_user_input(
    client: GraphQLClient, first: str, last: str
) -> None:
    body = await client.execute(ACTIVITY, {"from": first, "to": last}, user=uuid.uuid4())

    assert error_codes(body) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("first", "last"), [("2026-03-10", "2026-03-10"), ("2025-02-03", "2026-03-10")]
)
async def test_an_activity_range_of_one_to_400_days_is_accepted(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine, first: str, last: str
) -> None:
    tree = await _course(clean_db)
    client, user = make_client(clock=lambda: NOW), uuid.uuid4()
    await submit(client, user, task_id=tree.task_ids[0], occurred_at=NOW)

    body = await client.execute(ACTIVITY, {"from": first, "to": last}, user=user)

    assert body["data"]["viewer"]["activity"] == [{"day": "2026-03-10", "attempts": 1, "solved": 1}]


# --- statement counts ---------------------------------------------------------------------

RECORDS = """query($first: Int!) { viewer {
  enrollments { nodes { status course { key } } }
  attempts(first: $first) { nodes { id task { key } } }
  activity(from: "2026-01-01", to: "2026-03-31") { day attempts }
} }"""


async def _statements_for_records(
    make_client: Callable[..., GraphQLClient],
    engine: AsyncEngine,
    counter: StatementCounter,
    *,
    courses: int,
) -> int:
    trees = [await _course(engine, tasks=3) for _ in range(courses)]
    client, user = make_client(clock=lambda: NOW), uuid.uuid4()
    inputs = [
        attempt_input(task, occurred_at=NOW - timedelta(days=n))
        for n, task in enumerate(t for tree in trees for t in tree.task_ids)
    ]
    await _submit_all(client, user, inputs)
    before = counter.count

    body = await client.execute(RECORDS, {"first": len(inputs)}, user=user)

    assert "errors" not in body, body
    viewer = body["data"]["viewer"]
    assert len(viewer["enrollments"]["nodes"]) == courses
    assert len(viewer["attempts"]["nodes"]) == len(inputs) == len(viewer["activity"])
    return counter.count - before


async def test_viewer_lists_cost_the_same_statements_for_1_or_10_courses(
    make_client: Callable[..., GraphQLClient],
    clean_db: AsyncEngine,
    count_statements: StatementCounter,
) -> None:
    one = await _statements_for_records(make_client, clean_db, count_statements, courses=1)
    ten = await _statements_for_records(make_client, clean_db, count_statements, courses=10)

    assert one == ten
