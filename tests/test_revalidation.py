"""ETag / If-None-Match on GET queries: a 304 costs one SQL statement and no execution, and
no change of anything an answer shows can hide behind it."""

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import badge_backfill
from gql.ids import to_global_id
from tests.attempt_helpers import submit
from tests.conftest import StatementCounter
from tests.factories import make_course
from tests.graphql_client import GraphQLClient, error_codes
from tests.queue_helpers import Clock, Learner
from tests.test_badges import make_badge
from tests.test_course_tree import TREE_QUERY

# On a 10-second boundary, so that a few seconds later is the same clock slice.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MakeClient = Callable[..., GraphQLClient]

VIEWER = """{ viewer {
  handle timezone
  enrollments { nodes { status course { key } } }
  streak { current longest }
  badges { nodes { retroactive badge { key } } }
} }"""
PREVIEW = """query($course: ID!) {
  viewer { queue(courseId: $course, first: 3) { taskId reason } }
}"""
CONTENT = "query($id: ID!) { course(id: $id) { title sections { title } } }"


@pytest.fixture
async def learner(make_client: MakeClient, clean_db: AsyncEngine) -> Learner:
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=3)
    clock = Clock(NOW)
    seen = Learner(make_client(clock=clock), clock, clean_db, tree, uuid.uuid4())
    # Seen before: the first answer to someone new creates them, which moves their version.
    await seen.sql("INSERT INTO users (id) VALUES (:u)", u=seen.user)
    return seen


def page_of(learner: Learner) -> tuple[str, dict[str, Any]]:
    return TREE_QUERY, {"id": to_global_id("Course", learner.tree.course_id)}


async def fetch(
    learner: Learner, query: str, variables: dict[str, Any] | None = None, tag: str | None = None
) -> httpx.Response:
    return await learner.client.get(query, variables, user=learner.user, if_none_match=tag)


async def cached(learner: Learner, query: str, variables: dict[str, Any] | None = None) -> str:
    """The ETag of a first, successful answer, checked to revalidate as 304 right away."""
    response = await fetch(learner, query, variables)
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    tag = response.headers["etag"]
    assert (await fetch(learner, query, variables, tag)).status_code == 304
    return tag


async def changed(
    learner: Learner, query: str, variables: dict[str, Any] | None, tag: str
) -> dict[str, Any]:
    """Revalidate ``tag``: it must be a full 200 with a new tag that is current in turn."""
    response = await fetch(learner, query, variables, tag)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] != tag
    again = await fetch(learner, query, variables, response.headers["etag"])
    assert again.status_code == 304
    data: dict[str, Any] = response.json()["data"]
    return data


def graphql_requests(metrics: str, operation: str) -> float:
    prefix = f'learntrack_graphql_requests_total{{operation="{operation}",status="200"}} '
    lines = [line for line in metrics.splitlines() if line.startswith(prefix)]
    return float(lines[0].removeprefix(prefix)) if lines else 0.0


# --- the protocol ---------------------------------------------------------------------


async def test_get_query_answer_carries_a_weak_etag_and_must_be_revalidated(
    learner: Learner,
) -> None:
    response = await fetch(learner, *page_of(learner))

    assert response.status_code == 200
    assert response.headers["etag"].startswith('W/"v')
    assert response.headers["cache-control"] == "private, no-cache"
    assert response.headers["vary"] == "Accept, Authorization"


async def test_current_tag_is_304_after_one_statement_and_no_graphql_execution(
    learner: Learner, count_statements: StatementCounter
) -> None:
    tag = (await fetch(learner, *page_of(learner))).headers["etag"]
    executed = graphql_requests((await learner.client.http.get("/metrics")).text, "Tree")
    before = count_statements.count

    response = await fetch(learner, *page_of(learner), tag=tag)

    assert response.status_code == 304
    assert response.headers["etag"] == tag
    assert response.headers["cache-control"] == "private, no-cache"
    assert response.content == b""
    assert count_statements.count - before == 1
    assert graphql_requests((await learner.client.http.get("/metrics")).text, "Tree") == executed


async def test_uncached_get_costs_one_statement_more_than_the_page(
    learner: Learner, count_statements: StatementCounter
) -> None:
    query, variables = page_of(learner)
    await learner.client.execute(query, variables, user=learner.user)  # creates the user
    before = count_statements.count
    await learner.client.execute(query, variables, user=learner.user)
    posted = count_statements.count - before

    before = count_statements.count
    await fetch(learner, query, variables)

    assert count_statements.count - before == posted + 1


async def test_tag_from_a_list_of_tags_matches(learner: Learner) -> None:
    tag = await cached(learner, *page_of(learner))

    response = await fetch(learner, *page_of(learner), tag=f'W/"vstale", {tag}, *')

    assert response.status_code == 304


async def test_apq_hash_over_get_revalidates_like_the_query_text(learner: Learner) -> None:
    query, variables = page_of(learner)
    digest = hashlib.sha256(query.encode()).hexdigest()
    registered = await learner.client.get(
        query, variables, user=learner.user, persisted_hash=digest
    )

    by_hash = await learner.client.get(
        None,
        variables,
        user=learner.user,
        persisted_hash=digest,
        if_none_match=registered.headers["etag"],
    )

    assert by_hash.status_code == 304


async def test_tag_of_one_learner_is_not_current_for_another(learner: Learner) -> None:
    tag = await cached(learner, *page_of(learner))
    other = uuid.uuid4()

    response = await learner.client.get(*page_of(learner), user=other, if_none_match=tag)

    assert response.status_code == 200
    assert response.headers["etag"] != tag


async def test_other_variables_or_media_type_make_another_tag(learner: Learner) -> None:
    tag = await cached(learner, *page_of(learner))
    query, variables = page_of(learner)

    other_course = await fetch(learner, query, {"id": to_global_id("Course", uuid.uuid4())}, tag)
    # httpx asks for */* (legacy JSON): ask for the other media type.
    other_type = await learner.client.get(
        query,
        variables,
        user=learner.user,
        if_none_match=tag,
        headers={"Accept": "application/graphql-response+json"},
    )

    assert other_course.status_code == other_type.status_code == 200


async def test_post_queries_and_mutations_get_no_etag(learner: Learner) -> None:
    query = await learner.client.post(*page_of(learner), user=learner.user)
    mutation = await learner.client.post(
        'mutation { updateViewer(input: {handle: "ada"}) { __typename } }', user=learner.user
    )

    assert "etag" not in query.headers and "etag" not in mutation.headers
    assert query.headers["cache-control"] == mutation.headers["cache-control"] == "no-store"


async def test_answers_with_errors_get_no_etag(learner: Learner) -> None:
    bad_cursor = await learner.client.get('{ courses(after: "%%%") { edges { cursor } } }')
    bad_argument = await fetch(learner, "{ viewer { attempts(first: 1000) { nodes { id } } } }")

    for response in (bad_cursor, bad_argument):
        assert response.json()["errors"], response.text
        assert "etag" not in response.headers
        assert response.headers["cache-control"] == "no-store"


async def test_mutation_over_get_is_still_405_whatever_if_none_match(learner: Learner) -> None:
    response = await fetch(
        learner, 'mutation { updateViewer(input: {handle: "x"}) { __typename } }', tag='W/"v1"'
    )

    assert response.status_code == 405


async def test_turned_off_no_etag_and_if_none_match_is_ignored(
    make_client: MakeClient, learner: Learner
) -> None:
    tag = await cached(learner, *page_of(learner))
    client = make_client(clock=learner.clock, etags=False)

    response = await client.get(*page_of(learner), user=learner.user, if_none_match=tag)

    assert response.status_code == 200
    assert "etag" not in response.headers


async def test_anonymous_tag_follows_content_only(learner: Learner) -> None:
    variables = {"id": to_global_id("Course", learner.tree.course_id)}
    first = await learner.client.get(CONTENT, variables)
    tag = first.headers["etag"]

    await learner.submit(learner.tree.task_ids[0], solved=True)
    after_attempt = await learner.client.get(CONTENT, variables, if_none_match=tag)
    await learner.sql("UPDATE course SET title = 'Renamed' WHERE id = :c", c=learner.tree.course_id)
    after_edit = await learner.client.get(CONTENT, variables, if_none_match=tag)

    assert after_attempt.status_code == 304
    assert after_edit.status_code == 200
    assert after_edit.json()["data"]["course"]["title"] == "Renamed"


# --- no change can hide behind a stale 304 --------------------------------------------


async def test_content_edit_changes_the_course_page_tag(learner: Learner) -> None:
    query, variables = page_of(learner)
    tag = await cached(learner, query, variables)

    await learner.sql(
        "UPDATE section SET title = 'Renamed' WHERE id = :s", s=learner.tree.section_ids[0]
    )

    data = await changed(learner, query, variables, tag)
    assert data["course"]["sections"][0]["title"] == "Renamed"


async def test_task_title_edit_changes_the_tag_and_shows_the_new_title(learner: Learner) -> None:
    query = "query($id: ID!) { course(id: $id) { sections { themes { tasks { title } } } } }"
    variables = {"id": to_global_id("Course", learner.tree.course_id)}
    tag = await cached(learner, query, variables)

    await learner.sql("UPDATE task SET title = 'Edited' WHERE id = :t", t=learner.tree.task_ids[1])

    data = await changed(learner, query, variables, tag)
    tasks = data["course"]["sections"][0]["themes"][0]["tasks"]
    assert [t["title"] for t in tasks] == ["Task 1", "Edited", "Task 3"]


async def test_attempt_changes_the_tag(learner: Learner) -> None:
    query, variables = page_of(learner)
    tag = await cached(learner, query, variables)

    result = await submit(
        learner.client, learner.user, task_id=learner.tree.task_ids[0], occurred_at=NOW
    )

    assert result["__typename"] == "SubmitAttemptSuccess"
    data = await changed(learner, query, variables, tag)
    assert data["course"]["progress"]["solvedTasks"] == 1
    first_task = data["course"]["sections"][0]["themes"][0]["tasks"][0]
    assert first_task["state"]["status"] == "SOLVED"


async def test_badge_awarded_by_an_attempt_changes_the_tag(learner: Learner) -> None:
    badge = await make_badge(learner.client, "solved_total", {"tasks": 1})
    tag = await cached(learner, VIEWER)

    await learner.submit(learner.tree.task_ids[0], solved=True)

    data = await changed(learner, VIEWER, None, tag)
    assert data["viewer"]["badges"]["nodes"] == [
        {"retroactive": False, "badge": {"key": badge["key"]}}
    ]


async def test_retroactive_award_from_a_backfill_changes_the_tag(learner: Learner) -> None:
    await learner.submit(learner.tree.task_ids[0], solved=True)
    badge = await make_badge(learner.client, "solved_total", {"tasks": 1})
    tag = await cached(learner, VIEWER)

    async with learner.engine.begin() as conn:
        result = await badge_backfill.backfill_users(
            conn, user_ids=[learner.user], rule_ids=None, dry_run=False
        )

    assert sum(result.awards.values()) == 1
    data = await changed(learner, VIEWER, None, tag)
    assert data["viewer"]["badges"]["nodes"] == [
        {"retroactive": True, "badge": {"key": badge["key"]}}
    ]


async def test_enrollment_changes_the_tag(learner: Learner) -> None:
    tag = await cached(learner, VIEWER)

    body = await learner.client.execute(
        "mutation($id: ID!) { enroll(courseId: $id) { __typename } }",
        {"id": to_global_id("Course", learner.tree.course_id)},
        user=learner.user,
    )

    assert body["data"]["enroll"]["__typename"] == "EnrollmentSuccess"
    data = await changed(learner, VIEWER, None, tag)
    assert [e["status"] for e in data["viewer"]["enrollments"]["nodes"]] == ["ACTIVE"]


@pytest.mark.parametrize("change", ["timezone", "handle"])
async def test_timezone_or_handle_change_changes_the_tag(learner: Learner, change: str) -> None:
    tag = await cached(learner, VIEWER)
    value = "Asia/Tokyo" if change == "timezone" else "ada"

    body = await learner.client.execute(
        f'mutation {{ updateViewer(input: {{{change}: "{value}"}}) {{ __typename }} }}',
        user=learner.user,
    )

    assert body["data"]["updateViewer"]["__typename"] == "UpdateViewerSuccess"
    data = await changed(learner, VIEWER, None, tag)
    assert data["viewer"][change] == value


async def test_day_passing_changes_the_tag_and_breaks_the_streak(learner: Learner) -> None:
    await learner.submit(learner.tree.task_ids[0], solved=True)
    tag = await cached(learner, VIEWER)
    learner.clock.advance(hours=1)
    still_today = await fetch(learner, VIEWER, None, tag)

    learner.clock.advance(days=2)

    assert still_today.status_code == 304  # the streak depends on the day, not the hour
    data = await changed(learner, VIEWER, None, tag)
    assert data["viewer"]["streak"] == {"current": 0, "longest": 1}


async def test_local_midnight_changes_the_tag_in_the_learners_time_zone(
    learner: Learner,
) -> None:
    await learner.client.execute(
        'mutation { updateViewer(input: {timezone: "Asia/Tokyo"}) { __typename } }',
        user=learner.user,
    )
    learner.clock.now = datetime(2026, 3, 2, 14, 59, 59, tzinfo=UTC)  # 23:59:59 in Tokyo
    tag = await cached(learner, VIEWER)

    learner.clock.advance(seconds=1)  # 00:00 in Tokyo, 15:00 in UTC

    assert (await fetch(learner, VIEWER, None, tag)).status_code == 200


async def test_reservation_changes_the_queue_preview_tag(learner: Learner) -> None:
    variables = {"course": to_global_id("Course", learner.tree.course_id)}
    tag = await cached(learner, PREVIEW, variables)

    reserved = await learner.reserved(1)

    data = await changed(learner, PREVIEW, variables, tag)
    assert reserved[0]["taskId"] not in [e["taskId"] for e in data["viewer"]["queue"]]


async def test_queue_preview_is_time_bound_and_a_due_retry_shows_up(learner: Learner) -> None:
    variables = {"course": to_global_id("Course", learner.tree.course_id)}
    await learner.submit(learner.tree.task_ids[0], solved=False)  # a retry due in 10 minutes
    response = await fetch(learner, PREVIEW, variables)
    tag = response.headers["etag"]
    learner.clock.advance(seconds=3)
    same_slice = await fetch(learner, PREVIEW, variables, tag)

    learner.clock.advance(minutes=11)

    assert tag.startswith('W/"t')
    assert [e["reason"] for e in response.json()["data"]["viewer"]["queue"]] == ["NEW", "NEW"]
    assert same_slice.status_code == 304
    data = await changed(learner, PREVIEW, variables, tag)
    assert [e["reason"] for e in data["viewer"]["queue"]] == ["RETRY", "NEW", "NEW"]


async def test_time_bound_answers_get_no_etag_when_the_clock_slice_is_zero(
    make_client: MakeClient, learner: Learner
) -> None:
    client = make_client(clock=learner.clock, etag_clock_seconds=0)
    variables = {"course": to_global_id("Course", learner.tree.course_id)}

    preview = await client.get(PREVIEW, variables, user=learner.user)
    page = await client.get(*page_of(learner), user=learner.user)

    assert "etag" not in preview.headers
    assert page.headers["etag"].startswith('W/"v')


async def test_direct_sql_on_a_learner_table_changes_the_tag(learner: Learner) -> None:
    query, variables = page_of(learner)
    await learner.submit(learner.tree.task_ids[0], solved=True)
    tag = await cached(learner, query, variables)

    await learner.sql(
        "UPDATE user_task_state SET total_tries = total_tries + 1 WHERE user_id = :u",
        u=learner.user,
    )

    data = await changed(learner, query, variables, tag)
    first_task = data["course"]["sections"][0]["themes"][0]["tasks"][0]
    assert first_task["state"]["totalTries"] == 2


async def test_unchanged_data_keeps_its_tag_across_unrelated_learners(learner: Learner) -> None:
    tag = await cached(learner, VIEWER)
    other = Learner(learner.client, learner.clock, learner.engine, learner.tree, uuid.uuid4())

    await other.submit(learner.tree.task_ids[0], solved=True)

    assert (await fetch(learner, VIEWER, None, tag)).status_code == 304


async def test_unauthenticated_answer_with_a_bad_token_is_never_304(learner: Learner) -> None:
    tag = await cached(learner, VIEWER)

    response = await learner.client.http.get(
        "/graphql",
        params={"query": VIEWER},
        headers={"Authorization": "Bearer not-a-token", "If-None-Match": tag},
    )

    assert response.status_code == 200
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]


async def test_cross_origin_answer_exposes_its_etag_and_varies_by_origin_too(
    make_client: MakeClient, learner: Learner
) -> None:
    origin = "https://app.example"
    client = make_client(clock=learner.clock, cors_origins=[origin])
    preflight = await client.http.options(
        "/graphql",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, if-none-match",
        },
    )

    response = await client.get(*page_of(learner), user=learner.user, headers={"Origin": origin})

    assert preflight.status_code == 200
    assert "etag" in response.headers["access-control-expose-headers"].lower()
    assert {"Accept", "Authorization", "Origin"} <= {
        part.strip() for part in response.headers["vary"].split(",")
    }
