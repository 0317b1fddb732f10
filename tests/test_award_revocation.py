"""An admin revokes an award: it leaves the learner's badges, stays on record (who, when,
why), and no replay, backfill or later attempt awards it again."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import Database
from domain import badge_backfill
from gql.ids import to_global_key
from tests.attempt_helpers import drift, submit
from tests.clock import Clock
from tests.factories import make_course
from tests.graphql_client import GraphQLClient, error_codes
from tests.test_badges import make_badge

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ADMIN = uuid.uuid4()
REVOKE = """mutation($input: RevokeAwardInput!) { revokeAward(input: $input) {
  __typename
  ... on RevokeAwardSuccess { revocation {
    id learnerId badge { key } context awardedAt revokedAt revokedBy reason } }
  ... on RevokeAwardError { code message }
} }"""
BADGES = "{ viewer { badges { nodes { id badge { key } } } } }"
PROGRESS = "{ badges { nodes { key ruleProgress { earned current target } } } }"
NODE = "query($id: ID!) { node(id: $id) { id ... on Award { awardedAt } } }"
REVOCATIONS = "SELECT revoked_at, revoked_by, revoke_reason FROM user_badge ORDER BY awarded_at"


async def _revoke(
    client: GraphQLClient, award_id: str, reason: str = "copied answers", *, admin: bool = True
) -> dict[str, Any]:
    body = await client.execute(
        REVOKE,
        {"input": {"awardId": award_id, "reason": reason}},
        token=client.token(ADMIN, admin=admin),
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["revokeAward"]
    return payload


async def _badges(client: GraphQLClient, user: uuid.UUID) -> list[dict[str, Any]]:
    body = await client.execute(BADGES, user=user)
    nodes: list[dict[str, Any]] = body["data"]["viewer"]["badges"]["nodes"]
    return nodes


async def _revocations(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(text(REVOCATIONS))]


@pytest.fixture
async def earned(make_client: Any, clean_db: AsyncEngine) -> dict[str, Any]:
    """A learner holding a first-solve badge, and the client that gave it."""
    client: GraphQLClient = make_client(clock=Clock(NOW))
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=3)
    rule = await make_badge(client, "solved_total", {"tasks": 1})
    user = uuid.uuid4()
    attempt_id = uuid.uuid4()
    first = await submit(
        client, user, task_id=tree.task_ids[0], attempt_id=attempt_id, occurred_at=NOW
    )
    assert first["newBadges"] == [{"key": rule["key"]}]
    (award,) = await _badges(client, user)
    return {
        "client": client,
        "tree": tree,
        "rule": rule,
        "user": user,
        "attempt_id": attempt_id,
        "award": award,
    }


async def test_a_revoked_award_leaves_the_learner_and_is_kept_for_audit(
    earned: dict[str, Any], clean_db: AsyncEngine
) -> None:
    client, user, award = earned["client"], earned["user"], earned["award"]

    revoked = await _revoke(client, award["id"], "  copied answers \n")

    assert revoked == {
        "__typename": "RevokeAwardSuccess",
        "revocation": {
            "id": award["id"],
            "learnerId": str(user),
            "badge": {"key": earned["rule"]["key"]},
            "context": {},
            "awardedAt": NOW.isoformat(),
            "revokedAt": NOW.isoformat(),
            "revokedBy": str(ADMIN),
            "reason": "copied answers",
        },
    }
    assert await _badges(client, user) == []
    progress = (await client.execute(PROGRESS, user=user))["data"]["badges"]["nodes"]
    assert progress == [
        {
            "key": earned["rule"]["key"],
            "ruleProgress": [{"earned": False, "current": 1, "target": 1}],
        }
    ]
    # the Relay contract: a revoked award is no longer the viewer's, so it does not refetch
    refetched = await client.execute(NODE, {"id": award["id"]}, user=user)
    assert refetched == {"data": {"node": None}}
    assert await _revocations(clean_db) == [(NOW, ADMIN, "copied answers")]


async def test_a_revoked_award_is_not_given_again_by_a_replay_a_backfill_or_a_later_solve(
    earned: dict[str, Any], clean_db: AsyncEngine
) -> None:
    client, user, tree = earned["client"], earned["user"], earned["tree"]
    await _revoke(client, earned["award"]["id"])

    replay = await submit(
        client, user, task_id=tree.task_ids[0], attempt_id=earned["attempt_id"], occurred_at=NOW
    )
    async with Database(clean_db).transaction() as conn:
        backfilled = await badge_backfill.backfill_users(
            conn, user_ids=[user], rule_ids=None, dry_run=False
        )
    later = await submit(
        client, user, task_id=tree.task_ids[1], occurred_at=NOW + timedelta(minutes=1)
    )

    assert replay["replayed"] is True
    assert sum(backfilled.awards.values()) == 0
    assert later["newBadges"] == []
    assert await _badges(client, user) == []
    assert await _revocations(clean_db) == [(NOW, ADMIN, "copied answers")]
    assert await drift(clean_db) == []


@pytest.mark.parametrize(
    ("award_id", "reason", "admin", "code"),
    [
        (None, "fine", False, "NOT_ADMIN"),
        (None, "   ", True, "INVALID_REASON"),
        (None, "x" * 501, True, "INVALID_REASON"),
        (None, "bad\x00byte", True, "INVALID_REASON"),
        ("not an id", "fine", True, "NOT_FOUND"),
        (to_global_key("Award", uuid.uuid4(), uuid.uuid4(), ""), "fine", True, "NOT_FOUND"),
        (to_global_key("Award", "x", "y", ""), "fine", True, "NOT_FOUND"),
        (to_global_key("Award", uuid.uuid4(), uuid.uuid4(), "a\x00b"), "fine", True, "NOT_FOUND"),
        (to_global_key("Badge", uuid.uuid4()), "fine", True, "NOT_FOUND"),
    ],
)
async def test_a_refused_revocation_is_typed_and_changes_nothing(
    earned: dict[str, Any],
    clean_db: AsyncEngine,
    award_id: str | None,
    reason: str,
    admin: bool,
    code: str,
) -> None:
    client = earned["client"]

    refused = await _revoke(client, award_id or earned["award"]["id"], reason, admin=admin)

    assert (refused["__typename"], refused["code"]) == ("RevokeAwardError", code)
    assert refused["message"]
    assert await _badges(client, earned["user"]) == [earned["award"]]
    assert await _revocations(clean_db) == [(None, None, None)]


async def test_revoking_needs_a_token(earned: dict[str, Any]) -> None:
    body = await earned["client"].execute(
        REVOKE, {"input": {"awardId": earned["award"]["id"], "reason": "x"}}
    )
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_revoking_twice_at_once_revokes_once(
    earned: dict[str, Any], clean_db: AsyncEngine
) -> None:
    client, award = earned["client"], earned["award"]

    results = await asyncio.gather(
        _revoke(client, award["id"], "first"), _revoke(client, award["id"], "second")
    )

    outcomes = sorted(r.get("code", r["__typename"]) for r in results)
    assert outcomes == ["ALREADY_REVOKED", "RevokeAwardSuccess"]
    (winner,) = [r for r in results if r["__typename"] == "RevokeAwardSuccess"]
    assert await _revocations(clean_db) == [(NOW, ADMIN, winner["revocation"]["reason"])]
    again = await _revoke(client, award["id"])
    assert again["code"] == "ALREADY_REVOKED"


async def test_revoking_while_the_learner_submits_attempts(
    make_client: Any, clean_db: AsyncEngine
) -> None:
    # given a learner holding a first-solve badge, with a second badge (3 solved) in reach
    client: GraphQLClient = make_client(clock=Clock(NOW))
    async with clean_db.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=6)
    first = await make_badge(client, "solved_total", {"tasks": 1})
    third = await make_badge(client, "solved_total", {"tasks": 3})
    user = uuid.uuid4()
    await submit(client, user, task_id=tree.task_ids[0], occurred_at=NOW)
    (award,) = await _badges(client, user)

    # when the admin revokes it, twice at once, while the learner submits more solves
    results = await asyncio.gather(
        _revoke(client, award["id"]),
        _revoke(client, award["id"]),
        *(
            submit(client, user, task_id=task, occurred_at=NOW + timedelta(minutes=i + 1))
            for i, task in enumerate(tree.task_ids[1:])
        ),
    )

    # then it is revoked once, never given back, and the other badge is earned once
    codes = sorted(r.get("code", r["__typename"]) for r in results[:2])
    assert codes == ["ALREADY_REVOKED", "RevokeAwardSuccess"]
    assert all(r["__typename"] == "SubmitAttemptSuccess" for r in results[2:])
    assert [b["badge"]["key"] for b in await _badges(client, user)] == [third["key"]]
    assert first["key"] not in [b["key"] for r in results[2:] for b in r["newBadges"]]
    assert await drift(clean_db) == []
