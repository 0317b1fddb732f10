"""The task queue through the API: serving order, leases and their fencing, retries, reviews."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import content_document, content_import, retry_policy
from gql.ids import to_global_id
from tests.factories import CourseTree, make_course
from tests.graphql_client import GraphQLClient, error_codes
from tests.queue_helpers import Clock, Learner, task_gid, task_ids

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MakeClient = Callable[..., GraphQLClient]


async def _learner(
    make_client: MakeClient, engine: AsyncEngine, *, sections: int = 1, themes: int = 1, tasks: int
) -> Learner:
    async with engine.begin() as conn:
        tree = await make_course(conn, sections=sections, themes=themes, tasks=tasks)
    clock = Clock(NOW)
    return Learner(make_client(clock=clock), clock, engine, tree, uuid.uuid4())


def _iso(at: datetime) -> str:
    return at.isoformat()


# --- serving order -----------------------------------------------------------------------


async def test_new_tasks_are_served_in_content_order_each_once(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db, sections=2, themes=2, tasks=3)

    first = await learner.reserved(5)
    second = await learner.reserved(5)

    ordered = [task_gid(t) for t in learner.tree.task_ids]
    assert task_ids(first) == ordered[:5]
    assert task_ids(second) == ordered[5:10]
    assert {r["reason"] for r in first + second} == {"NEW"}
    assert {r["deliveries"] for r in first} == {1}
    assert {r["expiresAt"] for r in first} == {_iso(NOW + timedelta(minutes=15))}
    assert len({r["leaseToken"] for r in first + second}) == 10


async def test_due_retries_come_first_then_reviews_then_new_tasks(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    # given a course reviewing with FSRS, a solved task and a failed one
    learner = await _learner(make_client, clean_db, tasks=4)
    await learner.set_policy({"review": "fsrs"})
    solved, failed, *new = learner.tree.task_ids
    await learner.submit(solved, solved=True)
    await learner.submit(failed, solved=False)

    # when both are due
    learner.clock.advance(hours=1)
    served = await learner.reserved(4)

    # then the retry comes first, the review second, new tasks last
    assert [(r["taskId"], r["reason"]) for r in served] == [
        (task_gid(failed), "RETRY"),
        (task_gid(solved), "REVIEW"),
        (task_gid(new[0]), "NEW"),
        (task_gid(new[1]), "NEW"),
    ]
    assert served[0]["dueAt"] == _iso(NOW + timedelta(minutes=1))
    assert served[1]["dueAt"] == _iso(NOW + timedelta(minutes=10))


async def test_priority_orders_due_items_then_due_time_then_content_order(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db, tasks=4)
    a, b, c, d = learner.tree.task_ids
    await learner.sql("INSERT INTO users (id) VALUES (:u)", u=learner.user)
    await learner.sql(
        "INSERT INTO user_task_state (user_id, task_id, queue_priority) VALUES (:u, :d, 5)",
        u=learner.user,
        d=d,
    )
    await learner.submit(c, solved=False)
    learner.clock.advance(seconds=1)
    for task in (a, b, d):
        await learner.submit(task, solved=False)

    learner.clock.advance(hours=1)
    served = await learner.reserved(4)

    # d has the highest priority; c failed a second before a and b, which tie in due time
    assert task_ids(served) == [task_gid(t) for t in (d, c, a, b)]


async def test_a_failed_task_comes_back_as_a_retry_after_the_ladder_delay(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db, tasks=3)
    first, second, _ = learner.tree.task_ids
    (reservation,) = await learner.reserved(1)

    outcome = await learner.submit(first, solved=False, token=reservation["leaseToken"])

    assert outcome["reservationError"] is None
    learner.clock.advance(minutes=10, seconds=-1)
    assert task_ids(await learner.preview(1)) == [task_gid(second)]
    learner.clock.advance(seconds=1)
    (retry,) = await learner.reserved(1)
    assert (retry["taskId"], retry["reason"], retry["deliveries"]) == (task_gid(first), "RETRY", 1)
    assert retry["dueAt"] == _iso(NOW + timedelta(minutes=10))


async def test_retries_follow_the_course_ladder_then_expire_and_stay_reachable_by_theme(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    # given a course imported with its own ladder: 1 min, then 2 min, at most 2 retries
    clock = Clock(NOW)
    learner = Learner(
        make_client(clock=clock), clock, clean_db, await _imported(clean_db), uuid.uuid4()
    )
    task = learner.tree.task_ids[0]

    schedule = []
    for _ in range(3):
        await learner.submit(task, solved=False)
        entries = await learner.entries(task)
        schedule.append((entries[-1]["state"], entries[-1]["due_at"] - learner.clock.now))
        learner.clock.advance(hours=1)

    # then the delays come from the course, and the third failure expires the task
    assert schedule[0] == ("queued", timedelta(minutes=1))
    assert schedule[1] == ("queued", timedelta(minutes=2))
    assert schedule[2][0] == "expired"
    # an unscoped reservation no longer serves it; asking for its theme does
    assert task_gid(task) not in task_ids(await learner.reserved(5))
    (explicit,) = await learner.reserved(1, theme=learner.tree.theme_ids[0])
    assert (explicit["taskId"], explicit["reason"]) == (task_gid(task), "RETRY")
    # released, it is still not served unasked; solved, the expiry is lifted for good
    assert (await learner.release(explicit["leaseToken"]))["__typename"] == (
        "ReleaseReservationSuccess"
    )
    assert task_gid(task) not in task_ids(await learner.reserved(5))
    (again,) = await learner.reserved(1, section=learner.tree.section_ids[0])
    await learner.submit(task, solved=True, token=again["leaseToken"])
    assert {e["state"] for e in await learner.entries(task)} == {"done"}


async def _imported(engine: AsyncEngine) -> CourseTree:
    document = content_document.parse_document(
        {
            "courses": [
                {
                    "key": "ladder",
                    "title": "Ladder",
                    "queue_policy": {"retry_delay_seconds": [60, 120], "max_retries": 2},
                    "sections": [
                        {
                            "key": "ladder/s",
                            "title": "S",
                            "themes": [
                                {
                                    "key": "ladder/t",
                                    "title": "T",
                                    "tasks": [
                                        {"key": f"ladder/k{i}", "title": "K", "type": "text"}
                                        for i in range(3)
                                    ],
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )
    async with engine.begin() as conn:
        await content_import.import_content(conn, document=document)
        ids = {
            kind: [
                row.id for row in await conn.execute(text(f"SELECT id FROM {kind} ORDER BY key"))
            ]
            for kind in ("course", "section", "theme", "task")
        }
    return CourseTree(ids["course"][0], ids["section"], ids["theme"], ids["task"])


async def test_fsrs_course_schedules_a_solved_task_for_review_as_the_package_says(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db, tasks=1)
    await learner.set_policy({"review": "fsrs", "target_retention": 0.9})
    task = learner.tree.task_ids[0]
    history: list[retry_policy.Review] = []
    intervals = []
    for _ in range(4):
        (reservation,) = await learner.reserved(1)
        assert reservation["reason"] == ("REVIEW" if history else "NEW")
        await learner.submit(task, solved=True, token=reservation["leaseToken"])
        history.append(retry_policy.Review(learner.clock.now, True, 1))
        (entry,) = [e for e in await learner.entries(task) if e["state"] == "queued"]
        expected = retry_policy.FsrsReview(target_retention=0.9).next_step(
            solved=True, failure_count=0, history=history, now=learner.clock.now
        )
        assert (entry["reason"], entry["due_at"]) == ("review", expected.due_at)
        intervals.append(entry["due_at"] - learner.clock.now)
        learner.clock.now = entry["due_at"]

    assert intervals == sorted(intervals) and len(set(intervals)) == 4


# --- leases --------------------------------------------------------------------------------


async def test_an_expired_reservation_comes_back_and_the_old_token_is_fenced_off(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db, tasks=1)
    task = learner.tree.task_ids[0]
    (old,) = await learner.reserved(1, visibility=30)

    # 1 s before expiry the task is not reservable
    learner.clock.advance(seconds=29)
    assert await learner.reserved(1) == []
    # 1 s after, it comes back with one more delivery and a new token
    learner.clock.advance(seconds=2)
    (new,) = await learner.reserved(1, visibility=30)
    assert (new["taskId"], new["deliveries"]) == (task_gid(task), 2)
    assert new["leaseToken"] != old["leaseToken"]

    # the old holder is refused everywhere and changes nothing; its attempt is recorded
    stale = await learner.submit(task, solved=True, token=old["leaseToken"])
    assert stale["reservationError"] == "LEASE_EXPIRED"
    assert stale["taskState"]["status"] == "SOLVED"
    assert (await learner.extend(old["leaseToken"], 60))["code"] == "LEASE_EXPIRED"
    assert (await learner.release(old["leaseToken"]))["code"] == "LEASE_EXPIRED"
    assert [e["state"] for e in await learner.entries(task)] == ["reserved"]

    # the new holder's completion counts once
    attempt_id = uuid.uuid4()
    done = await learner.submit(task, solved=True, token=new["leaseToken"], attempt_id=attempt_id)
    replay = await learner.submit(task, solved=True, token=new["leaseToken"], attempt_id=attempt_id)
    again = await learner.submit(task, solved=True, token=new["leaseToken"])
    assert done["reservationError"] is None
    assert (replay["replayed"], replay["reservationError"]) == (True, None)
    assert again["reservationError"] == "LEASE_EXPIRED"
    entries = await learner.entries(task)
    assert [(e["state"], e["deliveries"]) for e in entries] == [("done", 2)]


async def test_an_attempt_without_a_token_settles_the_task_and_voids_its_lease(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db, tasks=2)
    (reservation,) = await learner.reserved(1)
    task = learner.tree.task_ids[0]

    await learner.submit(task, solved=True)

    assert [e["state"] for e in await learner.entries(task)] == ["done"]
    late = await learner.submit(task, solved=True, token=reservation["leaseToken"])
    assert late["reservationError"] == "LEASE_EXPIRED"


async def test_a_token_for_another_task_completes_nothing_but_the_attempt_settles_its_task(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db, tasks=2)
    (reservation,) = await learner.reserved(1)
    first, second = learner.tree.task_ids

    outcome = await learner.submit(second, solved=False, token=reservation["leaseToken"])

    assert outcome["reservationError"] == "LEASE_TASK_MISMATCH"
    assert [e["state"] for e in await learner.entries(first)] == ["reserved"]
    # the failure is a fact about its task, token or not
    assert [(e["state"], e["reason"], e["due_at"]) for e in await learner.entries(second)] == [
        ("queued", "retry", NOW + timedelta(minutes=10))
    ]


async def test_an_attempt_with_a_lapsed_token_settles_its_task_when_nobody_holds_it(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    # given a reservation whose lease lapsed, with nobody holding the task since
    learner = await _learner(make_client, clean_db, tasks=1)
    task = learner.tree.task_ids[0]
    (old,) = await learner.reserved(1, visibility=30)
    learner.clock.advance(seconds=31)

    # when its holder's failure arrives late
    stale = await learner.submit(task, solved=False, token=old["leaseToken"])

    # then the lease is reported lost, and the task is queued for a retry all the same
    assert stale["reservationError"] == "LEASE_EXPIRED"
    entries = await learner.entries(task)
    assert [(e["state"], e["reason"]) for e in entries] == [("done", "new"), ("queued", "retry")]
    assert entries[1]["due_at"] == learner.clock.now + timedelta(minutes=10)


async def test_another_learners_token_is_refused(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db, tasks=1)
    (reservation,) = await learner.reserved(1)
    other = Learner(learner.client, learner.clock, clean_db, learner.tree, uuid.uuid4())

    assert (await other.release(reservation["leaseToken"]))["code"] == "LEASE_EXPIRED"
    assert (await other.extend(reservation["leaseToken"], 60))["code"] == "LEASE_EXPIRED"
    assert [e["state"] for e in await learner.entries(learner.tree.task_ids[0])] == ["reserved"]


async def test_extend_moves_the_expiry_from_now_and_keeps_the_task_reserved(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db, tasks=1)
    (reservation,) = await learner.reserved(1, visibility=30)

    learner.clock.advance(seconds=20)
    extended = await learner.extend(reservation["leaseToken"], 60)

    assert extended["__typename"] == "ExtendReservationSuccess"
    assert extended["reservation"]["expiresAt"] == _iso(NOW + timedelta(seconds=80))
    assert extended["reservation"]["leaseToken"] == reservation["leaseToken"]
    learner.clock.advance(seconds=59)
    assert await learner.reserved(1) == []
    learner.clock.advance(seconds=1)
    assert len(await learner.reserved(1)) == 1


@pytest.mark.parametrize("seconds", [9, 43201])
async def test_extend_refuses_a_visibility_out_of_bounds(
    make_client: MakeClient, clean_db: AsyncEngine, seconds: int
) -> None:
    learner = await _learner(make_client, clean_db, tasks=1)
    (reservation,) = await learner.reserved(1, visibility=30)

    refused = await learner.extend(reservation["leaseToken"], seconds)

    assert refused["code"] == "INVALID_VISIBILITY"
    learner.clock.advance(seconds=31)
    assert len(await learner.reserved(1)) == 1


async def test_release_makes_the_task_reservable_at_once_and_voids_the_token(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db, tasks=2)
    (reservation,) = await learner.reserved(1)

    released = await learner.release(reservation["leaseToken"])

    assert released["entry"] == {
        "taskId": reservation["taskId"],
        "reason": "NEW",
        "dueAt": None,
        "deliveries": 1,
    }
    (again,) = await learner.reserved(1)
    assert (again["taskId"], again["deliveries"]) == (reservation["taskId"], 2)
    assert (await learner.release(reservation["leaseToken"]))["code"] == "LEASE_EXPIRED"


async def test_released_retry_keeps_its_place_ahead_of_new_tasks(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db, tasks=3)
    last = learner.tree.task_ids[-1]
    await learner.submit(last, solved=False)
    learner.clock.advance(hours=1)
    (retry,) = await learner.reserved(1)

    await learner.release(retry["leaseToken"])

    assert [(r["taskId"], r["reason"]) for r in await learner.reserved(2)] == [
        (task_gid(last), "RETRY"),
        (task_gid(learner.tree.task_ids[0]), "NEW"),
    ]


# --- inactive tasks, scopes, errors --------------------------------------------------------


async def test_inactive_tasks_are_never_served_and_cannot_be_extended(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db, tasks=3)
    first, second, third = learner.tree.task_ids
    (reservation,) = await learner.reserved(1)
    await learner.sql("UPDATE task SET active = false WHERE id = ANY(:ids)", ids=[first, second])

    refused = await learner.extend(reservation["leaseToken"], 600)
    learner.clock.advance(hours=1)
    served = await learner.reserved(5)

    assert refused["code"] == "TASK_INACTIVE"
    assert task_ids(served) == [task_gid(third)]


async def test_a_scope_without_active_tasks_is_refused(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db, themes=2, tasks=2)
    await learner.sql(
        "UPDATE task SET active = false WHERE theme_id = :t", t=learner.tree.theme_ids[1]
    )

    refused = await learner.reserve(5, theme=learner.tree.theme_ids[1])

    assert refused["code"] == "NO_ACTIVE_TASKS"
    assert len(await learner.reserved(5, theme=learner.tree.theme_ids[0])) == 2


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({"course": to_global_id("Course", uuid.uuid4())}, "COURSE_NOT_FOUND"),
        ({"section": uuid.uuid4()}, "SECTION_NOT_FOUND"),
        ({"theme": uuid.uuid4()}, "THEME_NOT_FOUND"),
        ({"limit": 0}, "INVALID_LIMIT"),
        ({"limit": 51}, "INVALID_LIMIT"),
        ({"visibility": 9}, "INVALID_VISIBILITY"),
        ({"visibility": 12 * 3600 + 1}, "INVALID_VISIBILITY"),
    ],
)
async def test_bad_requests_are_refused_with_a_code_and_reserve_nothing(
    make_client: MakeClient, clean_db: AsyncEngine, arguments: dict[str, Any], code: str
) -> None:
    learner = await _learner(make_client, clean_db, tasks=2)

    refused = await learner.reserve(**{"limit": 1, **arguments})

    assert (refused["__typename"], refused["code"]) == ("ReserveTasksError", code)
    async with clean_db.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM user_task_queue"))).scalar() == 0


async def test_a_section_or_theme_of_another_course_is_not_found(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db, tasks=1)
    async with clean_db.begin() as conn:
        other = await make_course(conn, sections=1, themes=1, tasks=1)

    by_section = await learner.reserve(1, section=other.section_ids[0])
    by_theme = await learner.reserve(1, theme=other.theme_ids[0])

    assert (by_section["code"], by_theme["code"]) == ("SECTION_NOT_FOUND", "THEME_NOT_FOUND")


async def test_reserving_needs_a_token(make_client: MakeClient, clean_db: AsyncEngine) -> None:
    learner = await _learner(make_client, clean_db, tasks=1)

    body = await learner.client.execute(
        "mutation($c: ID!) { reserveTasks(courseId: $c) { __typename } }",
        {"c": to_global_id("Course", learner.tree.course_id)},
    )

    assert error_codes(body) == ["UNAUTHENTICATED"]


# --- theme batches and the preview ---------------------------------------------------------


async def test_same_theme_batches_never_mix_themes(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    # given three themes of three tasks and a due retry in the middle theme
    learner = await _learner(make_client, clean_db, themes=3, tasks=3)
    theme_of = {
        task_gid(task): learner.tree.theme_ids[i // 3]
        for i, task in enumerate(learner.tree.task_ids)
    }
    await learner.submit(learner.tree.task_ids[4], solved=False)
    learner.clock.advance(hours=1)

    # when the learner takes same-theme batches until nothing is left
    batches = []
    for limit in (5, 2, 4, 1, 5, 5):
        batches.append(task_ids(await learner.reserved(limit, same_theme=True)))

    # then each batch is one theme; the retry's theme came first, and all tasks were served
    assert all(len({theme_of[t] for t in batch}) == 1 for batch in batches if batch)
    assert batches[0][0] == task_gid(learner.tree.task_ids[4])
    assert {theme_of[t] for t in batches[0]} == {learner.tree.theme_ids[1]}
    assert sorted(t for batch in batches for t in batch) == sorted(theme_of)


async def test_viewer_queue_previews_the_serving_order_without_reserving(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db, tasks=4)
    await learner.submit(learner.tree.task_ids[2], solved=False)
    learner.clock.advance(hours=1)

    preview = await learner.preview(3)
    again = await learner.preview(3)
    reserved = await learner.reserved(3)

    assert preview == again
    assert task_ids(preview) == task_ids(reserved)
    assert [(e["reason"], e["deliveries"]) for e in preview] == [
        ("RETRY", 0),
        ("NEW", 0),
        ("NEW", 0),
    ]
    assert preview[0]["dueAt"] == _iso(NOW + timedelta(minutes=10))
    assert preview[1]["dueAt"] is None
    assert task_ids(await learner.preview(3)) == [task_gid(learner.tree.task_ids[3])]


async def test_viewer_queue_is_null_for_an_unknown_course_and_checks_first(
    make_client: MakeClient, clean_db: AsyncEngine
) -> None:
    learner = await _learner(make_client, clean_db, tasks=1)

    assert await learner.preview(3, course=to_global_id("Course", uuid.uuid4())) is None
    body = await learner.client.execute(
        "query($c: ID!) { viewer { queue(courseId: $c, first: 0) { taskId } } }",
        {"c": to_global_id("Course", learner.tree.course_id)},
        user=learner.user,
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_reservation_tasks_load_in_one_statement_whatever_the_batch(
    make_client: MakeClient, clean_db: AsyncEngine, count_statements: Any
) -> None:
    learner = await _learner(make_client, clean_db, tasks=40)
    query = """mutation($c: ID!, $n: Int!) { reserveTasks(courseId: $c, limit: $n) {
        ... on ReserveTasksSuccess { reservations { task { title } } } } }"""
    counts = []
    for limit in (2, 30):
        before = count_statements.count
        body = await learner.client.execute(
            query,
            {"c": to_global_id("Course", learner.tree.course_id), "n": limit},
            user=learner.user,
        )
        assert len(body["data"]["reserveTasks"]["reservations"]) == limit
        counts.append(count_statements.count - before)

    assert counts[0] == counts[1]


async def test_viewer_queue_tasks_load_in_one_statement_whatever_the_length(
    make_client: MakeClient, clean_db: AsyncEngine, count_statements: Any
) -> None:
    learner = await _learner(make_client, clean_db, tasks=40)
    query = """query($c: ID!, $n: Int!) {
        viewer { queue(courseId: $c, first: $n) { task { title } } } }"""
    counts = []
    for first in (2, 30):
        before = count_statements.count
        body = await learner.client.execute(
            query,
            {"c": to_global_id("Course", learner.tree.course_id), "n": first},
            user=learner.user,
        )
        assert len(body["data"]["viewer"]["queue"]) == first
        counts.append(count_statements.count - before)

    assert counts[0] == counts[1]
