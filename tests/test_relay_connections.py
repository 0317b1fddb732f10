"""Relay's server specification over every connection and every Node type, as a Relay or
Apollo client pages and refetches: forward and backward without gaps or duplicates, a full
pageInfo, and every id refetchable through node(id:)."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gql.ids import to_global_id
from tests.attempt_helpers import SUBMIT_MANY, attempt_input
from tests.factories import CourseTree, make_course
from tests.graphql_client import GraphQLClient
from tests.test_badges import make_badge

PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"

# Each connection: where it sits in the response, and the query reaching it with paging
# arguments ($first/$after/$last/$before).
CONNECTIONS = {
    "courses": (["courses"], "courses(ARGS) { BODY }"),
    "badges": (["badges"], "badges(ARGS) { BODY }"),
    "rules": (["node", "rules"], "node(id: $badge) { ... on Badge { rules(ARGS) { BODY } } }"),
    "enrollments": (["viewer", "enrollments"], "viewer { enrollments(ARGS) { BODY } }"),
    "attempts": (["viewer", "attempts"], "viewer { attempts(ARGS) { BODY } }"),
    "awards": (["viewer", "badges"], "viewer { badges(ARGS) { BODY } }"),
}
SIZES = {"courses": 3, "badges": 4, "rules": 3, "enrollments": 3, "attempts": 5, "awards": 3}


@dataclass
class Learner:
    user: uuid.UUID
    badge_id: str  # the badge with several rules


@pytest.fixture
async def learner(client: GraphQLClient, clean_db: AsyncEngine) -> Learner:
    """A learner with something in every connection: SIZES says how many of each."""
    trees: list[CourseTree] = []
    async with clean_db.begin() as conn:
        for index in range(3):
            trees.append(await make_course(conn, sections=1, themes=1, tasks=2, key=f"c{index}"))
    for tasks in (1, 2, 3):
        await make_badge(client, "solved_total", {"tasks": tasks})
    first = await make_badge(client, "streak", {"days": 30})
    for days in (40, 50):
        await client.execute(
            """mutation($input: CreateBadgeRuleInput!) { createBadgeRule(input: $input) {
              __typename } }""",
            {
                "input": {
                    "badgeId": first["badge_id"],
                    "key": f"r{days}",
                    "type": "streak",
                    "criteria": {"days": days},
                }
            },
            token=client.token(uuid.uuid4(), admin=True),
        )
    user = uuid.uuid4()
    now = datetime.now(UTC)
    tasks = [
        trees[0].task_ids[0],
        trees[0].task_ids[1],
        trees[1].task_ids[0],
        trees[2].task_ids[0],
        trees[2].task_ids[0],
    ]
    inputs = [
        attempt_input(task, occurred_at=now - timedelta(minutes=10 - index), solved=index < 4)
        for index, task in enumerate(tasks)
    ]
    body = await client.execute(SUBMIT_MANY, {"inputs": inputs}, user=user)
    assert {r["__typename"] for r in body["data"]["submitAttempts"]} == {"SubmitAttemptSuccess"}
    return Learner(user, first["badge_id"])


async def _page(
    client: GraphQLClient, learner: "Learner", name: str, **arguments: Any
) -> dict[str, Any]:
    path, template = CONNECTIONS[name]
    selection = template.replace(
        "ARGS", "first: $first, after: $after, last: $last, before: $before"
    ).replace("BODY", f"edges {{ cursor node {{ id }} }} nodes {{ id }} {PAGE_INFO}")
    badge = ", $badge: ID!" if "$badge" in selection else ""
    query = (
        f"query($first: Int, $after: String, $last: Int, $before: String{badge}) {{ {selection} }}"
    )
    variables = {"badge": learner.badge_id} if badge else {}
    body = await client.execute(query, {**variables, **arguments}, user=learner.user)
    assert "errors" not in body, body
    found: Any = body["data"]
    for step in path:
        found = found[step]
    assert [edge["node"] for edge in found["edges"]] == found["nodes"]
    return found  # type: ignore[no-any-return]


def _ids(page: dict[str, Any]) -> list[str]:
    return [node["id"] for node in page["nodes"]]


@pytest.mark.parametrize("name", sorted(CONNECTIONS))
async def test_paging_forward_and_backward_meets_the_whole_list(
    client: GraphQLClient, learner: Learner, name: str
) -> None:
    whole = await _page(client, learner, name, first=100)
    forward: list[str] = []
    after = None
    while True:
        page = await _page(client, learner, name, first=2, after=after)
        forward += _ids(page)
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    backward: list[str] = []
    before = None
    while True:
        page = await _page(client, learner, name, last=2, before=before)
        backward = _ids(page) + backward
        assert page["pageInfo"]["hasNextPage"] is (before is not None)
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]

    assert len(_ids(whole)) == SIZES[name]
    assert forward == backward == _ids(whole)
    assert whole["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": whole["edges"][0]["cursor"],
        "endCursor": whole["edges"][-1]["cursor"],
    }


@pytest.mark.parametrize("name", sorted(CONNECTIONS))
async def test_a_page_between_two_cursors_holds_what_lies_between(
    client: GraphQLClient, learner: Learner, name: str
) -> None:
    whole = await _page(client, learner, name, first=100)
    cursors = [edge["cursor"] for edge in whole["edges"]]

    between = await _page(client, learner, name, first=100, after=cursors[0], before=cursors[-1])
    empty = await _page(client, learner, name, first=100, after=cursors[-1])

    assert _ids(between) == _ids(whole)[1:-1]
    assert empty["nodes"] == [] and empty["pageInfo"]["startCursor"] is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"first": 1, "last": 1}, "not both"),
        ({"last": 0}, "'last'"),
        ({"first": 101}, "'first'"),
        ({"before": "%%%"}, "'before'"),
    ],
)
async def test_bad_paging_arguments_are_bad_user_input(
    client: GraphQLClient, learner: Learner, arguments: dict[str, Any], message: str
) -> None:
    body = await client.execute(
        "query($first: Int, $last: Int, $before: String) {"
        " courses(first: $first, last: $last, before: $before) { nodes { id } } }",
        arguments,
    )

    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert message in body["errors"][0]["message"]


async def test_every_node_of_every_connection_refetches_through_node_and_nodes(
    client: GraphQLClient, learner: Learner
) -> None:
    ids = {name: _ids(await _page(client, learner, name, first=100)) for name in CONNECTIONS}
    every = [id_ for found in ids.values() for id_ in found]

    body = await client.execute(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
        {"ids": every},
        user=learner.user,
    )
    one = await client.execute(
        "query($id: ID!) { node(id: $id) { id } }", {"id": ids["attempts"][0]}, user=learner.user
    )
    stranger = await client.execute(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": every}, user=uuid.uuid4()
    )

    assert "errors" not in body, body
    assert [node["id"] for node in body["data"]["nodes"]] == every
    assert {node["__typename"] for node in body["data"]["nodes"]} == {
        "Course",
        "Badge",
        "BadgeRule",
        "Enrollment",
        "Attempt",
        "Award",
    }
    assert one["data"]["node"] == {"id": ids["attempts"][0]}
    own = {
        name: len(found)
        for name, found in ids.items()
        if name in {"enrollments", "attempts", "awards"}
    }
    hidden = [node for node in stranger["data"]["nodes"] if node is None]
    assert len(hidden) == sum(own.values())


async def test_a_node_of_an_unknown_type_is_null(client: GraphQLClient) -> None:
    body = await client.execute(
        "query($id: ID!) { node(id: $id) { id } }", {"id": to_global_id("Nothing", uuid.uuid4())}
    )

    assert body == {"data": {"node": None}}


async def test_the_viewer_refetches_through_node_for_its_own_learner_only(
    client: GraphQLClient,
) -> None:
    user = uuid.uuid4()
    viewer = (await client.execute("{ viewer { id userId } }", user=user))["data"]["viewer"]
    refetch = "query($id: ID!) { node(id: $id) { ... on Viewer { id userId } } }"

    own = await client.execute(refetch, {"id": viewer["id"]}, user=user)
    other = await client.execute(refetch, {"id": viewer["id"]}, user=uuid.uuid4())
    anonymous = await client.execute(refetch, {"id": viewer["id"]})

    assert (
        own["data"]["node"] == viewer == {"id": to_global_id("Viewer", user), "userId": str(user)}
    )
    assert other["data"]["node"] is None and anonymous["data"]["node"] is None
