"""Streaks and daily activity: the pure maths, and local days through the API."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.streaks import NO_STREAK, Streak, extend, from_days
from tests.attempt_helpers import drift, submit
from tests.clock import Clock
from tests.factories import make_course
from tests.graphql_client import GraphQLClient

D1 = date(2026, 3, 1)


def day(n: int) -> date:
    """Day ``n`` counted from D1 (day(0) == D1)."""
    return D1 + timedelta(days=n)


# --- pure: extend, current_on, from_days ---------------------------------------------


def test_first_active_day_starts_a_run_of_one() -> None:
    assert extend(NO_STREAK, D1) == Streak(run=1, longest=1, last_active_day=D1)


def test_the_next_day_extends_the_run_and_the_longest() -> None:
    streak = Streak(run=2, longest=2, last_active_day=day(1))

    assert extend(streak, day(2)) == Streak(run=3, longest=3, last_active_day=day(2))


def test_the_same_day_again_changes_nothing() -> None:
    streak = Streak(run=2, longest=5, last_active_day=day(1))

    assert extend(streak, day(1)) is streak


def test_a_gap_restarts_the_run_and_keeps_the_longest() -> None:
    streak = Streak(run=4, longest=4, last_active_day=day(3))

    assert extend(streak, day(5)) == Streak(run=1, longest=4, last_active_day=day(5))


def test_a_day_before_the_last_active_day_needs_a_rebuild() -> None:
    streak = Streak(run=1, longest=1, last_active_day=day(2))

    assert extend(streak, day(1)) is None
    assert extend(streak, day(0)) is None


def test_current_is_the_run_while_last_active_today_or_yesterday() -> None:
    streak = Streak(run=3, longest=7, last_active_day=day(5))

    assert streak.current_on(day(5)) == 3
    assert streak.current_on(day(6)) == 3


def test_current_is_zero_once_a_whole_day_was_missed() -> None:
    streak = Streak(run=3, longest=7, last_active_day=day(5))

    assert streak.current_on(day(7)) == 0
    assert streak.longest == 7


def test_no_streak_reads_zero() -> None:
    assert NO_STREAK.current_on(D1) == 0
    assert from_days([]) == NO_STREAK


def test_from_days_ignores_order_and_duplicates() -> None:
    days = [day(4), day(0), day(1), day(1), day(5), day(2), day(4)]

    assert from_days(days) == Streak(run=2, longest=3, last_active_day=day(5))


def test_from_days_keeps_an_older_longer_run_as_longest() -> None:
    days = [day(n) for n in (0, 1, 2, 3, 10, 12, 13)]

    assert from_days(days) == Streak(run=2, longest=4, last_active_day=day(13))


@given(st.lists(st.integers(min_value=0, max_value=40), max_size=40))
def test_folding_extend_in_any_order_equals_from_days(offsets: list[int]) -> None:
    # Given active days arriving in any order (late offline attempts included)
    streak, seen = NO_STREAK, []

    for offset in offsets:
        # When each day is folded in, rebuilding only when extend cannot tell
        seen.append(day(offset))
        extended = extend(streak, day(offset))
        streak = extended if extended is not None else from_days(seen)

        # Then the incremental streak always equals the one from all days so far
        assert streak == from_days(seen)


@given(
    st.sets(st.integers(min_value=0, max_value=30), min_size=1),
    st.integers(min_value=0, max_value=5),
)
def test_current_on_is_the_run_or_zero(offsets: set[int], later: int) -> None:
    streak = from_days([day(n) for n in offsets])
    assert streak.last_active_day is not None

    today = streak.last_active_day + timedelta(days=later)

    assert streak.current_on(today) == (streak.run if later <= 1 else 0)
    assert 1 <= streak.run <= streak.longest <= len(offsets)


# --- through the API: local days in the learner's time zone ---------------------------

VIEWER = """query($from: Date!, $to: Date!) { viewer {
  timezone
  streak { current longest lastActiveDay }
  activity(from: $from, to: $to) { day attempts solved timeSpentMs }
} }"""

SET_TIMEZONE = """mutation($timezone: String!) { updateViewer(input: {timezone: $timezone}) {
  __typename
} }"""


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


@dataclass
class Learner:
    client: GraphQLClient
    clock: Clock
    user: uuid.UUID
    task_id: uuid.UUID

    async def solve(
        self,
        occurred_at: str,
        *,
        solved: bool = True,
        ms: int = 1000,
        received: str | None = None,
    ) -> None:
        """Submit an attempt; ``received``: move the server clock there first."""
        if received is not None:
            self.clock.now = at(received)
        result = await submit(
            self.client,
            self.user,
            task_id=self.task_id,
            occurred_at=at(occurred_at),
            solved=solved,
            time_spent_ms=ms,
        )
        assert result["__typename"] == "SubmitAttemptSuccess", result

    async def view(self, first: str, last: str, *, now: str | None = None) -> dict[str, Any]:
        if now is not None:
            self.clock.now = at(now)
        body = await self.client.execute(VIEWER, {"from": first, "to": last}, user=self.user)
        assert "errors" not in body, body
        viewer: dict[str, Any] = body["data"]["viewer"]
        return viewer


async def new_learner(
    make_client: Callable[..., GraphQLClient], engine: AsyncEngine, timezone: str, now: str
) -> Learner:
    """A new learner in ``timezone`` with one task to solve, the server clock at ``now``."""
    async with engine.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=1)
    clock = Clock(at(now))
    client = make_client(clock=clock)
    user = uuid.uuid4()
    body = await client.execute(SET_TIMEZONE, {"timezone": timezone}, user=user)
    assert body["data"]["updateViewer"]["__typename"] == "UpdateViewerSuccess", body
    return Learner(client, clock, user, tree.task_ids[0])


def active_days(viewer: dict[str, Any]) -> list[str]:
    return [a["day"] for a in viewer["activity"] if a["solved"] > 0]


async def test_utc_plus_14_solves_an_hour_apart_in_one_utc_day_count_two_local_days(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner in Pacific/Kiritimati (UTC+14)
    kiri = await new_learner(make_client, clean_db, "Pacific/Kiritimati", "2026-03-01T20:00Z")

    # When they solve at 23:30 and 00:30 local, both on 2026-03-01 in UTC
    await kiri.solve("2026-03-01T09:30Z")
    await kiri.solve("2026-03-01T10:30Z")

    # Then two consecutive local days are active
    viewer = await kiri.view("2026-02-28", "2026-03-03")
    assert active_days(viewer) == ["2026-03-01", "2026-03-02"]
    assert viewer["streak"] == {"current": 2, "longest": 2, "lastActiveDay": "2026-03-02"}
    assert await drift(clean_db) == []


async def test_utc_plus_14_streak_breaks_at_local_midnight_before_utc_midnight(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner in UTC+14 last active on 2026-03-02 local
    kiri = await new_learner(make_client, clean_db, "Pacific/Kiritimati", "2026-03-01T20:00Z")
    await kiri.solve("2026-03-01T09:30Z")
    await kiri.solve("2026-03-01T10:30Z")

    # When the server reads the streak at 23:30 and then 00:30 local on 2026-03-03/04
    # (both still 2026-03-03 in UTC)
    before = await kiri.view("2026-03-01", "2026-03-04", now="2026-03-03T09:30Z")
    after = await kiri.view("2026-03-01", "2026-03-04", now="2026-03-03T10:30Z")

    # Then the streak is alive on the local day after the last one, and broken on the next
    assert before["streak"] == {"current": 2, "longest": 2, "lastActiveDay": "2026-03-02"}
    assert after["streak"] == {"current": 0, "longest": 2, "lastActiveDay": "2026-03-02"}


async def test_utc_minus_10_solves_on_two_utc_days_count_one_local_day(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner in Pacific/Honolulu (UTC-10)
    hono = await new_learner(make_client, clean_db, "Pacific/Honolulu", "2026-03-02T12:00Z")

    # When they solve at 13:00 and 23:00 local on 2026-03-01 (01 and 02 in UTC)
    await hono.solve("2026-03-01T23:00Z", ms=1500)
    await hono.solve("2026-03-02T09:00Z", ms=2500)

    # Then only 2026-03-01 is active, with both attempts on it
    viewer = await hono.view("2026-02-28", "2026-03-03")
    assert viewer["activity"] == [
        {"day": "2026-03-01", "attempts": 2, "solved": 2, "timeSpentMs": 4000.0}
    ]
    assert viewer["streak"] == {"current": 1, "longest": 1, "lastActiveDay": "2026-03-01"}
    assert await drift(clean_db) == []


async def test_utc_minus_10_streak_stays_alive_until_local_midnight(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner in UTC-10 last active on 2026-03-01 local
    hono = await new_learner(make_client, clean_db, "Pacific/Honolulu", "2026-03-02T12:00Z")
    await hono.solve("2026-03-02T09:00Z")

    # When the server reads the streak on 2026-03-03 in UTC, first at 23:00 local on
    # 2026-03-02, then at 00:30 local on 2026-03-03
    yesterday = await hono.view("2026-03-01", "2026-03-03", now="2026-03-03T09:00Z")
    broken = await hono.view("2026-03-01", "2026-03-03", now="2026-03-03T10:30Z")

    # Then the streak counts while the last active day is yesterday in Honolulu
    assert yesterday["streak"] == {"current": 1, "longest": 1, "lastActiveDay": "2026-03-01"}
    assert broken["streak"] == {"current": 0, "longest": 1, "lastActiveDay": "2026-03-01"}


async def test_utc_plus_13_and_utc_minus_10_count_the_same_instants_on_their_own_days(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner in Pacific/Tongatapu (UTC+13) and one in Pacific/Honolulu (UTC-10)
    tonga = await new_learner(make_client, clean_db, "Pacific/Tongatapu", "2026-03-03T09:00Z")
    hono = await new_learner(make_client, clean_db, "Pacific/Honolulu", "2026-03-03T09:00Z")

    # When both solve at the same three instants (two UTC days)
    for instant in ("2026-03-01T10:30Z", "2026-03-02T09:30Z", "2026-03-02T11:30Z"):
        await tonga.solve(instant)
        await hono.solve(instant)

    # Then Tongatapu has three local days (23:30, 22:30, 00:30 the next day)
    tonga_view = await tonga.view("2026-02-27", "2026-03-05")
    assert [(a["day"], a["solved"]) for a in tonga_view["activity"]] == [
        ("2026-03-01", 1),
        ("2026-03-02", 1),
        ("2026-03-03", 1),
    ]
    assert tonga_view["streak"] == {"current": 3, "longest": 3, "lastActiveDay": "2026-03-03"}
    # And Honolulu two (00:30 and 23:30 on one day, 01:30 the next)
    hono_view = await hono.view("2026-02-27", "2026-03-05")
    assert [(a["day"], a["solved"]) for a in hono_view["activity"]] == [
        ("2026-03-01", 2),
        ("2026-03-02", 1),
    ]
    assert hono_view["streak"] == {"current": 2, "longest": 2, "lastActiveDay": "2026-03-02"}
    assert await drift(clean_db) == []


async def test_consecutive_local_days_across_spring_forward_are_consecutive(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner in New York, where 2026-03-08 loses an hour (EST -5 -> EDT -4)
    ny = await new_learner(make_client, clean_db, "America/New_York", "2026-03-09T12:00Z")

    # When they solve at 23:30 EST on 03-07, 23:30 EDT on 03-08 and 00:30 EDT on 03-09
    await ny.solve("2026-03-08T04:30Z")
    await ny.solve("2026-03-09T03:30Z")
    # One hour later, but after local midnight; at a fixed -5 it would still be 03-08.
    await ny.solve("2026-03-09T04:30Z")

    # Then the three local days form one run
    viewer = await ny.view("2026-03-06", "2026-03-10")
    assert active_days(viewer) == ["2026-03-07", "2026-03-08", "2026-03-09"]
    assert viewer["streak"] == {"current": 3, "longest": 3, "lastActiveDay": "2026-03-09"}
    assert await drift(clean_db) == []


async def test_consecutive_local_days_across_berlin_spring_forward_are_consecutive(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner in Berlin, where 2026-03-29 is 23 hours long (CET +1 -> CEST +2)
    berlin = await new_learner(make_client, clean_db, "Europe/Berlin", "2026-03-31T12:00Z")

    # When they solve at 23:30 CET on 03-28, 00:30 CET and 23:30 CEST on 03-29, and
    # 00:15 CEST on 03-30
    for instant in (
        "2026-03-28T22:30Z",
        "2026-03-28T23:30Z",
        "2026-03-29T21:30Z",
        "2026-03-29T22:15Z",
    ):
        await berlin.solve(instant)

    # Then 03-28, 03-29 and 03-30 are one run, 03-29 with two solves
    viewer = await berlin.view("2026-03-27", "2026-03-31")
    assert [(a["day"], a["solved"]) for a in viewer["activity"]] == [
        ("2026-03-28", 1),
        ("2026-03-29", 2),
        ("2026-03-30", 1),
    ]
    assert viewer["streak"] == {"current": 3, "longest": 3, "lastActiveDay": "2026-03-30"}
    assert await drift(clean_db) == []


async def test_the_25_hour_day_of_fall_back_is_one_local_day(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner in Berlin, where 2026-10-25 is 25 hours long (CEST +2 -> CET +1)
    berlin = await new_learner(make_client, clean_db, "Europe/Berlin", "2026-10-26T12:00Z")

    # When they solve at 00:30 CEST and 23:30 CET that day: 24 hours apart
    await berlin.solve("2026-10-24T22:30Z")
    await berlin.solve("2026-10-25T22:30Z")

    # Then it is a single active day
    viewer = await berlin.view("2026-10-23", "2026-10-26")
    assert [(a["day"], a["solved"]) for a in viewer["activity"]] == [("2026-10-25", 2)]
    assert viewer["streak"] == {"current": 1, "longest": 1, "lastActiveDay": "2026-10-25"}
    assert await drift(clean_db) == []


async def test_a_late_offline_attempt_that_fills_the_gap_joins_the_runs(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given solves on day 1 and day 3 (a gap on day 2)
    learner = await new_learner(make_client, clean_db, "Europe/Berlin", "2026-03-03T18:00Z")
    await learner.solve("2026-03-01T10:00Z")
    await learner.solve("2026-03-03T10:00Z")
    gap = await learner.view("2026-03-01", "2026-03-03")
    assert gap["streak"] == {"current": 1, "longest": 1, "lastActiveDay": "2026-03-03"}

    # When an offline attempt that occurred on day 2 arrives late
    await learner.solve("2026-03-02T10:00Z")

    # Then the three days are one run, current and longest
    viewer = await learner.view("2026-03-01", "2026-03-03")
    assert active_days(viewer) == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert viewer["streak"] == {"current": 3, "longest": 3, "lastActiveDay": "2026-03-03"}
    assert await drift(clean_db) == []


async def test_a_late_attempt_before_the_run_extends_only_the_longest_it_joins(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given solves on days 1, 2 and 5, each received as it happened
    learner = await new_learner(make_client, clean_db, "UTC", "2026-03-01T09:00Z")
    for instant in ("2026-03-01T10:00Z", "2026-03-02T10:00Z", "2026-03-05T10:00Z"):
        await learner.solve(instant, received=instant)
    learner.clock.now = at("2026-03-05T18:00Z")

    # When a late attempt lands on day 3 (still a gap on day 4)
    await learner.solve("2026-03-03T10:00Z")

    # Then the older run grows to 3 and the current run stays 1
    viewer = await learner.view("2026-03-01", "2026-03-05")
    assert viewer["streak"] == {"current": 1, "longest": 3, "lastActiveDay": "2026-03-05"}
    assert await drift(clean_db) == []


async def test_a_late_unsolved_attempt_does_not_fill_a_gap(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given solves on day 1 and day 3
    learner = await new_learner(make_client, clean_db, "UTC", "2026-03-03T18:00Z")
    await learner.solve("2026-03-01T10:00Z")
    await learner.solve("2026-03-03T10:00Z")

    # When a late, unsolved attempt lands on day 2
    await learner.solve("2026-03-02T10:00Z", solved=False)

    # Then day 2 shows the attempt but the gap stays
    viewer = await learner.view("2026-03-01", "2026-03-03")
    assert viewer["activity"][1] == {
        "day": "2026-03-02",
        "attempts": 1,
        "solved": 0,
        "timeSpentMs": 1000.0,
    }
    assert viewer["streak"] == {"current": 1, "longest": 1, "lastActiveDay": "2026-03-03"}
    assert await drift(clean_db) == []


async def test_two_solves_on_one_day_count_as_one_day(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a solve yesterday
    learner = await new_learner(make_client, clean_db, "UTC", "2026-03-02T20:00Z")
    await learner.solve("2026-03-01T12:00Z")

    # When the learner solves twice today
    await learner.solve("2026-03-02T08:00Z", ms=500)
    await learner.solve("2026-03-02T19:00Z", ms=700)

    # Then today counts once in the streak, twice in the activity
    viewer = await learner.view("2026-03-01", "2026-03-02")
    assert viewer["activity"] == [
        {"day": "2026-03-01", "attempts": 1, "solved": 1, "timeSpentMs": 1000.0},
        {"day": "2026-03-02", "attempts": 2, "solved": 2, "timeSpentMs": 1200.0},
    ]
    assert viewer["streak"] == {"current": 2, "longest": 2, "lastActiveDay": "2026-03-02"}
    assert await drift(clean_db) == []


async def test_an_unsolved_attempt_does_not_make_a_day_active(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a solve on day 1
    learner = await new_learner(make_client, clean_db, "UTC", "2026-03-02T20:00Z")
    await learner.solve("2026-03-01T12:00Z")

    # When the learner only fails on day 2
    await learner.solve("2026-03-02T12:00Z", solved=False)
    await learner.solve("2026-03-02T13:00Z", solved=False)

    # Then day 2 has attempts but is not active, and the streak still ends on day 1
    viewer = await learner.view("2026-03-01", "2026-03-02")
    assert viewer["activity"][1] == {
        "day": "2026-03-02",
        "attempts": 2,
        "solved": 0,
        "timeSpentMs": 2000.0,
    }
    assert viewer["streak"] == {"current": 1, "longest": 1, "lastActiveDay": "2026-03-01"}
    # And on day 3 it is broken
    day3 = await learner.view("2026-03-01", "2026-03-03", now="2026-03-03T12:00Z")
    assert day3["streak"] == {"current": 0, "longest": 1, "lastActiveDay": "2026-03-01"}
    assert await drift(clean_db) == []


async def test_a_streak_not_extended_yesterday_or_today_reads_zero_but_keeps_longest(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a three-day run ending on 2026-03-03
    learner = await new_learner(make_client, clean_db, "Asia/Tokyo", "2026-03-03T12:00Z")
    for instant in ("2026-03-01T03:00Z", "2026-03-02T03:00Z", "2026-03-03T03:00Z"):
        await learner.solve(instant)

    # When it is read on the next day, and then two days later
    next_day = await learner.view("2026-03-01", "2026-03-05", now="2026-03-04T12:00Z")
    later = await learner.view("2026-03-01", "2026-03-05", now="2026-03-05T12:00Z")

    # Then the run counts on the next day only; the longest stays
    assert next_day["streak"] == {"current": 3, "longest": 3, "lastActiveDay": "2026-03-03"}
    assert later["streak"] == {"current": 0, "longest": 3, "lastActiveDay": "2026-03-03"}
    # And a new solve starts a run of one without losing the longest
    await learner.solve("2026-03-05T03:00Z")
    restarted = await learner.view("2026-03-01", "2026-03-05")
    assert restarted["streak"] == {"current": 1, "longest": 3, "lastActiveDay": "2026-03-05"}
    assert await drift(clean_db) == []


async def test_a_new_learner_has_no_streak_and_no_activity(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    learner = await new_learner(make_client, clean_db, "UTC", "2026-03-02T20:00Z")

    viewer = await learner.view("2026-03-01", "2026-03-02")

    assert viewer["streak"] == {"current": 0, "longest": 0, "lastActiveDay": None}
    assert viewer["activity"] == []


async def test_submit_returns_the_streak_on_the_learners_local_today(
    make_client: Callable[..., GraphQLClient], clean_db: AsyncEngine
) -> None:
    # Given a learner in UTC+14 who solved on 2026-03-01 local; it is 2026-03-03 00:30 local
    kiri = await new_learner(make_client, clean_db, "Pacific/Kiritimati", "2026-03-02T10:30Z")
    await kiri.solve("2026-03-01T09:30Z")

    # When they fail an attempt (the day does not become active)
    result = await submit(
        kiri.client,
        kiri.user,
        task_id=kiri.task_id,
        occurred_at=at("2026-03-02T10:00Z"),
        solved=False,
    )

    # Then the returned streak is already broken in their time zone
    assert result["streak"] == {"current": 0, "longest": 1, "lastActiveDay": "2026-03-01"}
    assert await drift(clean_db) == []
