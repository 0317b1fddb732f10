"""Streaks done right (issue 19): rules on the current streak, one count per local day
across time-zone changes, the offline grace period, the day-start hour, and freezes."""

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import Database
from domain import recompute
from tests.attempt_helpers import drift, submit
from tests.clock import Clock
from tests.factories import make_course
from tests.graphql_client import GraphQLClient, error_codes
from tests.test_badges import make_badge

D = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # a noon in UTC; day(n) is n days later

VIEWER = """query($from: Date!, $to: Date!) { viewer {
  streak { current longest lastActiveDay freezesHeld freezesUsed frozenDays }
  activity(from: $from, to: $to) { day solved frozen }
} }"""
# Only the fields that existed before the fix: the defects show against the old schema too.
PLAIN_VIEWER = """query($from: Date!, $to: Date!) { viewer {
  streak { current longest lastActiveDay } activity(from: $from, to: $to) { day solved }
} }"""
PROGRESS = "{ badges { nodes { key ruleProgress { ruleType current target earned } } } }"
SET_TIMEZONE = """mutation($tz: String!) { updateViewer(input: {timezone: $tz}) {
  __typename ... on UpdateViewerSuccess { viewer { timezone } } } }"""
GRANT = """mutation($input: GrantStreakFreezesInput!) { grantStreakFreezes(input: $input) {
  __typename
  ... on GrantStreakFreezesSuccess { streak { current freezesHeld freezesUsed frozenDays } }
  ... on GrantStreakFreezesError { code message } } }"""
ADMIN = uuid.uuid4()


def day(n: int, hour: int = 12) -> datetime:
    return D + timedelta(days=n, hours=hour - 12)


@dataclass
class Learner:
    client: GraphQLClient
    clock: Clock
    user: uuid.UUID
    tasks: list[uuid.UUID]
    used: int = 0

    async def solve(
        self, occurred_at: datetime, *, received: datetime | None = None, solved: bool = True
    ) -> list[str]:
        """Solve the next task at ``occurred_at``, received then (or at ``received``);
        returns the keys of the badges it earned."""
        self.clock.now = received or occurred_at
        task = self.tasks[self.used % len(self.tasks)]
        self.used += 1
        result = await submit(
            self.client, self.user, task_id=task, occurred_at=occurred_at, solved=solved
        )
        assert result["__typename"] == "SubmitAttemptSuccess", result
        return [badge["key"] for badge in result["newBadges"]]

    async def view(self, now: datetime, *, plain: bool = False) -> Any:
        self.clock.now = now
        body = await self.client.execute(
            PLAIN_VIEWER if plain else VIEWER,
            {"from": "2026-11-20", "to": "2027-01-31"},
            user=self.user,
        )
        assert "errors" not in body, body
        return body["data"]["viewer"]

    async def set_timezone(self, tz: str, now: datetime) -> None:
        self.clock.now = now
        body = await self.client.execute(SET_TIMEZONE, {"tz": tz}, user=self.user)
        assert body["data"]["updateViewer"]["viewer"]["timezone"] == tz, body


async def new_learner(
    make_client: Callable[..., GraphQLClient],
    engine: AsyncEngine,
    *,
    tasks: int = 40,
    timezone: str = "UTC",
    **settings: Any,
) -> Learner:
    async with engine.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=tasks)
    clock = Clock(D)
    client = make_client(clock=clock, **settings)
    learner = Learner(client, clock, uuid.uuid4(), tree.task_ids)
    if timezone != "UTC":
        await learner.set_timezone(timezone, D - timedelta(days=30))
    return learner


def streak_of(viewer: Any) -> tuple[int, int]:
    return viewer["streak"]["current"], viewer["streak"]["longest"]


# --- defects 2 and 3: rules and progress read the current streak ---------------------


async def test_a_streak_rule_added_later_awards_when_the_current_run_reaches_it(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner whose longest streak (4) was broken; freezes never earned
    learner = await new_learner(make_client, clean_db, streak_freeze_every_days=0)
    for n in range(4):
        await learner.solve(day(n))
    # When a 3-day streak rule is added without backfill and a new run grows to 3
    badge = await make_badge(learner.client, "streak", {"days": 3})
    earned = [await learner.solve(day(n)) for n in (6, 7, 8)]

    # Then the third day of the new run awards it
    assert earned == [[], [], [badge["key"]]]
    assert streak_of(await learner.view(day(8), plain=True)) == (3, 4)
    assert await drift(clean_db) == []


async def test_an_all_of_with_a_streak_rule_holds_only_while_the_current_streak_meets_it(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner whose 3-day run is broken, and a rule: 3-day streak and 6 tasks solved
    learner = await new_learner(make_client, clean_db, streak_freeze_every_days=0)
    badge = await make_badge(
        learner.client,
        "all_of",
        {
            "rules": [
                {"type": "streak", "criteria": {"days": 3}},
                {"type": "solved_total", "criteria": {"tasks": 6}},
            ]
        },
    )
    for n in range(3):
        await learner.solve(day(n))

    # When the sixth task is solved on a day the current streak is 1, then two more days
    earned = [await learner.solve(day(5, hour)) for hour in (9, 10, 11)]
    earned += [await learner.solve(day(n)) for n in (6, 7)]

    # Then it holds only on the day the current run reaches 3 again
    assert earned == [[], [], [], [], [badge["key"]]]


async def test_badge_progress_toward_a_streak_shows_the_current_streak(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner with a broken 4-day run and a live 3-day run, and a 7-day rule
    learner = await new_learner(make_client, clean_db, streak_freeze_every_days=0)
    await make_badge(learner.client, "streak", {"days": 7})
    for n in (0, 1, 2, 3, 6, 7, 8):
        await learner.solve(day(n))

    async def progress(now: datetime) -> dict[str, Any]:
        learner.clock.now = now
        body = await learner.client.execute(PROGRESS, user=learner.user)
        (badge,) = body["data"]["badges"]["nodes"]
        rule: dict[str, Any] = badge["ruleProgress"][0]
        return rule

    # Then progress is the current run, 3/7, and 0/7 once it is broken
    assert await progress(day(8)) == {
        "ruleType": "streak",
        "current": 3,
        "target": 7,
        "earned": False,
    }
    assert (await progress(day(10)))["current"] == 0
    assert streak_of(await learner.view(day(10), plain=True)) == (0, 4)


# --- defect 4a: a local day counts once, whatever the time-zone changes --------------


async def test_switching_to_a_zone_behind_does_not_count_yesterday_again(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner in Tokyo who solves at 10:00 local on 12-08 (01:00 UTC)
    learner = await new_learner(make_client, clean_db, timezone="Asia/Tokyo")
    tokyo_morning = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
    await learner.solve(tokyo_morning)

    # When they switch to Los Angeles (still 12-07 there) and solve a minute later
    await learner.set_timezone("America/Los_Angeles", tokyo_morning + timedelta(seconds=30))
    await learner.solve(tokyo_morning + timedelta(minutes=1))

    # Then both solves count for 12-08 only: a streak of 1
    viewer = await learner.view(tokyo_morning + timedelta(minutes=2), plain=True)
    assert viewer["streak"]["current"] == 1
    assert [(a["day"], a["solved"]) for a in viewer["activity"]] == [("2026-12-08", 2)]
    assert await drift(clean_db) == []


async def test_a_new_zone_takes_effect_on_the_next_local_day_and_never_goes_back(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner in Kiritimati (UTC+14) who solved on 12-02 local (12-01 12:00 UTC)
    learner = await new_learner(make_client, clean_db, timezone="Pacific/Kiritimati")
    await learner.solve(day(0))

    # When they switch to UTC-12 at once; that zone takes effect at Kiritimati's 12-03 00:00
    await learner.set_timezone("Etc/GMT+12", day(0, 13))
    await learner.solve(day(0, 14))  # still Kiritimati: 12-02 04:00
    await learner.solve(day(1, 11))  # UTC-12: 12-01 23:00, never before 12-02
    await learner.solve(day(1, 13))  # UTC-12: 12-02 01:00
    await learner.solve(day(2, 13))  # UTC-12: 12-03 01:00

    # Then the days go 12-02, 12-02, 12-02, 12-02, 12-03: no day counted twice
    viewer = await learner.view(day(2, 14), plain=True)
    assert [(a["day"], a["solved"]) for a in viewer["activity"]] == [
        ("2026-12-02", 4),
        ("2026-12-03", 1),
    ]
    assert streak_of(viewer) == (2, 2)
    # And a recompute from the attempts and the time-zone history gives the same days
    assert await drift(clean_db) == []


async def test_a_recompute_check_reports_a_local_day_the_history_does_not_give(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    learner = await new_learner(make_client, clean_db, timezone="Asia/Tokyo")
    await learner.solve(day(0))
    async with clean_db.begin() as conn:
        await conn.execute(
            text("UPDATE user_task_attempt SET local_day = local_day - 1 WHERE user_id = :u"),
            {"u": learner.user},
        )

    found = await drift(clean_db)

    assert any(line.startswith("user_task_attempt.local_day: wrong:") for line in found), found


# --- defect 4b: the offline grace period ---------------------------------------------


async def test_a_solve_received_after_the_grace_period_cannot_repair_a_streak(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given solves on days 0, 1 and 3 as they happened (day 2 missed), no freezes
    learner = await new_learner(make_client, clean_db, streak_freeze_every_days=0)
    for n in (0, 1, 3):
        await learner.solve(day(n))

    # When a solve dated day 2 arrives 73 hours after it occurred
    await learner.solve(day(2), received=day(2) + timedelta(hours=73))

    # Then day 2 shows the activity but the streak stays broken
    viewer = await learner.view(day(5, 14), plain=True)
    assert [(a["day"], a["solved"]) for a in viewer["activity"]] == [
        ("2026-12-01", 1),
        ("2026-12-02", 1),
        ("2026-12-03", 1),
        ("2026-12-04", 1),
    ]
    assert streak_of(viewer) == (0, 2)
    assert await drift(clean_db) == []


async def test_the_grace_period_is_a_setting_and_a_solve_within_it_repairs(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a deployment with a 100-hour grace period
    learner = await new_learner(
        make_client, clean_db, streak_freeze_every_days=0, streak_grace_hours=100
    )
    for n in (0, 1, 3):
        await learner.solve(day(n))

    # When the same late solve arrives 73 hours after it occurred
    await learner.solve(day(2), received=day(2) + timedelta(hours=73))

    # Then it bridges the gap
    assert streak_of(await learner.view(day(3, 20), plain=True)) == (4, 4)
    async with Database(clean_db).rolled_back() as conn:
        users = await recompute.list_users(conn)
        found = await recompute.check_users(
            conn, user_ids=users, policy=learner.client.settings.streak_policy
        )
    assert found == []


# --- the day-start hour ---------------------------------------------------------------


async def test_with_a_4am_day_start_a_solve_after_midnight_counts_for_the_day_before(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a deployment whose days start at 04:00, a learner in Berlin (UTC+1)
    learner = await new_learner(
        make_client, clean_db, timezone="Europe/Berlin", streak_day_start_hour=4
    )

    # When they solve at 22:00 on 12-01 and at 02:30 and 05:00 on 12-02 (local)
    await learner.solve(datetime(2026, 12, 1, 21, 0, tzinfo=UTC))
    await learner.solve(datetime(2026, 12, 2, 1, 30, tzinfo=UTC))
    await learner.solve(datetime(2026, 12, 2, 4, 0, tzinfo=UTC))

    # Then 02:30 still belongs to 12-01; 05:00 is 12-02
    viewer = await learner.view(datetime(2026, 12, 2, 4, 5, tzinfo=UTC), plain=True)
    assert [(a["day"], a["solved"]) for a in viewer["activity"]] == [
        ("2026-12-01", 2),
        ("2026-12-02", 1),
    ]
    assert streak_of(viewer) == (2, 2)
    # And at 03:00 on 12-04 it is still 12-03 locally: the streak is alive
    assert (
        streak_of(await learner.view(datetime(2026, 12, 4, 2, 0, tzinfo=UTC), plain=True))[0] == 2
    )
    assert (
        streak_of(await learner.view(datetime(2026, 12, 4, 3, 30, tzinfo=UTC), plain=True))[0] == 0
    )
    async with Database(clean_db).rolled_back() as conn:
        found = await recompute.check_users(
            conn, user_ids=[learner.user], policy=learner.client.settings.streak_policy
        )
    assert found == []


# --- freezes ----------------------------------------------------------------------------


async def test_a_seven_day_run_earns_a_freeze_that_covers_a_missed_day(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a seven-day run (one freeze earned)
    learner = await new_learner(make_client, clean_db)
    for n in range(7):
        await learner.solve(day(n))
    earned = await learner.view(day(6))
    assert earned["streak"]["freezesHeld"] == 1

    # When day 7 is missed and the learner solves on day 8
    alive = await learner.view(day(8, 1))
    await learner.solve(day(8))

    # Then the freeze is used for day 7 and the streak goes on (frozen days add no length)
    viewer = await learner.view(day(8))
    assert alive["streak"]["current"] == 7  # a freeze held keeps it alive meanwhile
    assert viewer["streak"] == {
        "current": 8,
        "longest": 8,
        "lastActiveDay": "2026-12-09",
        "freezesHeld": 0,
        "freezesUsed": 1,
        "frozenDays": ["2026-12-08"],
    }
    calendar = {a["day"]: a for a in viewer["activity"]}
    assert calendar["2026-12-08"] == {"day": "2026-12-08", "solved": 0, "frozen": True}
    assert calendar["2026-12-09"]["frozen"] is False
    assert await drift(clean_db) == []


async def test_a_gap_longer_than_the_freezes_held_breaks_the_streak_and_keeps_them(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    learner = await new_learner(make_client, clean_db)
    for n in range(7):
        await learner.solve(day(n))

    await learner.solve(day(9))  # days 7 and 8 missed, one freeze held

    viewer = await learner.view(day(9))
    assert streak_of(viewer) == (1, 7)
    assert viewer["streak"]["freezesHeld"] == 1
    assert viewer["streak"]["frozenDays"] == []
    assert await drift(clean_db) == []


async def test_a_late_solve_on_a_frozen_day_gives_the_freeze_back(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a freeze used for day 7
    learner = await new_learner(make_client, clean_db)
    for n in (0, 1, 2, 3, 4, 5, 6, 8):
        await learner.solve(day(n))

    # When an offline solve of day 7 arrives within the grace period
    await learner.solve(day(7), received=day(8, 13))

    # Then day 7 counts, and the freeze is held again
    viewer = await learner.view(day(8, 14))
    assert viewer["streak"]["current"] == 9
    assert viewer["streak"]["freezesHeld"] == 1
    assert viewer["streak"]["frozenDays"] == []
    assert await drift(clean_db) == []


async def test_an_admin_grants_freezes_up_to_the_maximum(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner with a two-day run; freezes are never earned here
    learner = await new_learner(make_client, clean_db, streak_freeze_every_days=0)
    for n in range(2):
        await learner.solve(day(n))
    admin = learner.client.token(ADMIN, admin=True)

    async def grant(count: int, *, token: str | None = admin) -> Any:
        return await learner.client.execute(
            GRANT,
            {"input": {"userId": str(learner.user), "count": count, "reason": "support ticket"}},
            token=token,
        )

    # When an admin grants 3 (the maximum held is 2), and the learner misses two days
    learner.clock.now = day(2)
    granted = (await grant(3))["data"]["grantStreakFreezes"]
    await learner.solve(day(4))

    # Then two freezes were held and both covered the missed days
    assert granted == {
        "__typename": "GrantStreakFreezesSuccess",
        "streak": {"current": 2, "freezesHeld": 2, "freezesUsed": 0, "frozenDays": []},
    }
    viewer = await learner.view(day(4))
    assert viewer["streak"]["current"] == 3
    assert viewer["streak"]["frozenDays"] == ["2026-12-03", "2026-12-04"]
    # And the grant is a fact a recompute folds in
    assert await drift(clean_db) == []
    # And bad input or no admin role changes nothing
    refused = (await grant(0))["data"]["grantStreakFreezes"]
    assert refused["code"] == "INVALID_COUNT"
    no_nul = await learner.client.execute(
        GRANT,
        {"input": {"userId": str(learner.user), "count": 1, "reason": "a\u0000b"}},
        token=admin,
    )
    assert no_nul["data"]["grantStreakFreezes"]["code"] == "INVALID_REASON"
    assert error_codes(await grant(1, token=learner.client.token(learner.user))) == ["FORBIDDEN"]
    unknown = await learner.client.execute(
        GRANT, {"input": {"userId": str(uuid.uuid4()), "count": 1}}, token=admin
    )
    assert unknown["data"]["grantStreakFreezes"]["code"] == "USER_NOT_FOUND"
    viewer = await learner.view(day(4))
    assert viewer["streak"]["freezesHeld"] == 0


async def test_recompute_check_reports_tampered_freezes_and_a_rebuild_restores_them(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    learner = await new_learner(make_client, clean_db)
    for n in (0, 1, 2, 3, 4, 5, 6, 8):
        await learner.solve(day(n))
    async with clean_db.begin() as conn:
        await conn.execute(
            text("UPDATE user_streak SET freezes = 2, frozen_days = '{}' WHERE user_id = :u"),
            {"u": learner.user},
        )

    found = await drift(clean_db)
    async with Database(clean_db).transaction() as conn:
        await recompute.rebuild_users(conn, user_ids=[learner.user])

    assert any(line.startswith("user_streak: missing or wrong:") for line in found), found
    assert await drift(clean_db) == []
    viewer = await learner.view(day(8))
    assert viewer["streak"]["frozenDays"] == ["2026-12-08"]


async def test_a_backfill_awards_a_streak_rule_as_incremental_awarding_did(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a 10-day streak rule, live, and a learner whose run needs a freeze (day 7 missed),
    # a solve past the grace period and a late one within it
    learner = await new_learner(make_client, clean_db)
    live = await make_badge(learner.client, "streak", {"days": 10})
    for n in (0, 1, 2, 3, 4, 5, 6, 8, 9):
        await learner.solve(day(n))
    await learner.solve(day(1, 8), received=day(9, 13))
    await learner.solve(day(9, 9), received=day(9, 14))
    for n in (10, 11):
        await learner.solve(day(n))

    # When the same rule is added later with a backfill
    backfilled = await make_badge(learner.client, "streak", {"days": 10}, backfill=True)

    # Then it is awarded on the same attempt and date as the live one
    body = await learner.client.execute(
        "{ viewer { badges { nodes { awardedAt attemptId retroactive badge { key } } } } }",
        user=learner.user,
    )
    awards = {a["badge"]["key"]: a for a in body["data"]["viewer"]["badges"]["nodes"]}
    assert backfilled["backfilledAwards"] == 1
    assert awards[live["key"]]["retroactive"] is False
    assert awards[backfilled["key"]]["retroactive"] is True
    assert awards[live["key"]]["awardedAt"] == awards[backfilled["key"]]["awardedAt"]
    assert awards[live["key"]]["attemptId"] == awards[backfilled["key"]]["attemptId"]
    # (day 11 of the calendar is the tenth streak day: the frozen day adds no length)
    assert awards[live["key"]]["awardedAt"].startswith("2026-12-11")


async def test_a_backfill_replays_freeze_grants_where_the_server_received_them(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a live 4-day rule; a learner with no earned freezes is granted one on day 2
    learner = await new_learner(make_client, clean_db, streak_freeze_every_days=0)
    live = await make_badge(learner.client, "streak", {"days": 4})
    for n in (0, 1):
        await learner.solve(day(n))
    learner.clock.now = day(2)
    granted = await learner.client.execute(
        GRANT,
        {"input": {"userId": str(learner.user), "count": 1}},
        token=learner.client.token(ADMIN, admin=True),
    )
    assert granted["data"]["grantStreakFreezes"]["__typename"] == "GrantStreakFreezesSuccess"
    # When day 2 is missed (the freeze covers it) and the run reaches 4 on day 4
    earned = [await learner.solve(day(n)) for n in (3, 4)]
    backfilled = await make_badge(learner.client, "streak", {"days": 4}, backfill=True)

    # Then the live and the backfilled award agree
    body = await learner.client.execute(
        "{ viewer { badges { nodes { awardedAt badge { key } } } } }", user=learner.user
    )
    dates = {a["badge"]["key"]: a["awardedAt"] for a in body["data"]["viewer"]["badges"]["nodes"]}
    assert earned == [[], [live["key"]]]
    assert dates[live["key"]] == dates[backfilled["key"]] == "2026-12-05T12:00:00+00:00"
    assert await drift(clean_db) == []


async def test_grants_and_time_zone_changes_concurrent_with_solves_keep_the_fold(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner with a two-day run
    learner = await new_learner(make_client, clean_db, streak_freeze_every_days=0)
    for n in range(2):
        await learner.solve(day(n))
    learner.clock.now = day(3)
    admin = learner.client.token(ADMIN, admin=True)

    # When a grant, a time-zone change and solves of day 3 all run at once
    grant_input = {"input": {"userId": str(learner.user), "count": 1}}
    results = await asyncio.gather(
        learner.client.execute(GRANT, grant_input, token=admin),
        learner.client.execute(SET_TIMEZONE, {"tz": "Europe/Berlin"}, user=learner.user),
        *(
            submit(learner.client, learner.user, task_id=task, occurred_at=day(3))
            for task in learner.tasks[10:13]
        ),
    )

    # Then each went through, and the stored streak is the fold of what was stored
    assert results[0]["data"]["grantStreakFreezes"]["__typename"] == "GrantStreakFreezesSuccess"
    assert all(r["__typename"] == "SubmitAttemptSuccess" for r in results[2:])
    viewer = await learner.view(day(3))
    assert viewer["streak"]["current"] == 3
    assert viewer["streak"]["frozenDays"] == ["2026-12-03"]
    assert await drift(clean_db) == []


async def test_a_change_not_yet_in_effect_is_replaced_by_the_next(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner in Tokyo with a solve; they switch to Los Angeles (from Tokyo's
    # next day on), then back to Tokyo before that
    learner = await new_learner(make_client, clean_db, timezone="Asia/Tokyo")
    await learner.solve(day(0, 1))
    await learner.set_timezone("America/Los_Angeles", day(0, 2))
    await learner.set_timezone("Asia/Tokyo", day(0, 3))

    # When they solve the next Tokyo day, 12-02 (12-01 in Los Angeles)
    await learner.solve(day(0, 16))

    # Then Tokyo still counts: two days
    viewer = await learner.view(day(0, 17), plain=True)
    assert [a["day"] for a in viewer["activity"]] == ["2026-12-01", "2026-12-02"]
    assert streak_of(viewer) == (2, 2)
    assert await drift(clean_db) == []


async def test_a_learner_with_freeze_grants_and_no_attempts_is_checked_by_recompute(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner (a user row: they set a time zone) who has only been granted freezes
    learner = await new_learner(make_client, clean_db, timezone="Europe/Paris")
    admin = learner.client.token(ADMIN, admin=True)
    body = await learner.client.execute(
        GRANT,
        {"input": {"userId": str(learner.user), "count": 1, "reason": "welcome"}},
        token=admin,
    )
    assert body["data"]["grantStreakFreezes"]["__typename"] == "GrantStreakFreezesSuccess"
    assert await drift(clean_db) == []

    # When the stored freezes are tampered with
    async with clean_db.begin() as conn:
        await conn.execute(text("UPDATE user_streak SET freezes = 2"))

    # Then recompute lists the learner and reports it
    assert {line.split(":")[0] for line in await drift(clean_db)} == {"user_streak"}
