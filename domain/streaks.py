"""Streak maths over local calendar days: pure functions, no clock, no database.

A *streak day* is a local day with at least one solve that reached the server within the
grace period (``StreakPolicy.grace`` after its ``occurredAt``); later solves still count as
activity but neither extend nor repair a streak. ``run`` is the length of the run of
consecutive streak days ending at ``last_active_day``; a missed day inside a run is
*frozen* (a freeze consumed) when the learner held enough freezes for the whole gap on the
day the run resumed: the run goes on, and the frozen days add no length.

Freezes are held up to ``max_freezes``. One is earned each time the run reaches a multiple
of ``freeze_every`` days, and admins grant more (facts with the local day of the grant).
The streak is a fold over the streak days in day order: before each day, the grants of
that day or earlier are added; then the gap since the last streak day is bridged or the
run restarts; then a freeze may be earned. Grants after the last streak day are added at
the end. The incremental path (``advance``) and every rebuild run this same fold.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class StreakPolicy:
    """Per-deployment streak settings (LEARNTRACK_STREAK_* in the settings)."""

    grace: timedelta = timedelta(hours=72)
    day_start_hour: int = 0  # a local day runs from this hour to the same hour next day
    max_freezes: int = 2
    freeze_every: int = 7  # one freeze each time the run reaches a multiple (0: never)


DEFAULT_POLICY = StreakPolicy()


@dataclass(frozen=True, slots=True)
class Streak:
    run: int
    longest: int
    last_active_day: date | None
    freezes: int = 0  # held now
    frozen_days: tuple[date, ...] = field(default=())  # missed days freezes covered

    def current_on(self, today: date) -> int:
        """The live streak on ``today`` (local): the run if it reaches yesterday or today, or
        if the freezes held can still cover every day missed since."""
        if self.last_active_day is None:
            return 0
        if self.last_active_day < today - timedelta(days=1 + self.freezes):
            return 0
        return self.run

    def as_of(self, day: date) -> int:
        """The streak a badge rule sees for an attempt on local ``day``: ``current_on(day)``
        for the last streak day or later; for an earlier day (a late attempt), the run when
        ``day`` lies within it (a late solve that joined or bridged runs is evaluated with
        the run it made), else 0."""
        start = self.run_start()
        if start is not None and self.last_active_day is not None and day < self.last_active_day:
            return self.run if day >= start else 0
        return self.current_on(day)

    def run_start(self) -> date | None:
        """The first day of the run ending at ``last_active_day`` (frozen days inside it
        add no length but are part of its span)."""
        if self.last_active_day is None:
            return None
        frozen = set(self.frozen_days)
        start, counted = self.last_active_day, 1
        while counted < self.run:
            start -= timedelta(days=1)
            if start not in frozen:
                counted += 1
        return start


NO_STREAK = Streak(run=0, longest=0, last_active_day=None)


def from_row(row: Any) -> Streak:
    """A stored user_streak row (nulls: no streak yet)."""
    if row.longest is None:
        return NO_STREAK
    return Streak(
        row.current, row.longest, row.last_active_day, row.freezes, tuple(row.frozen_days)
    )


def _add_freezes(streak: Streak, count: int, policy: StreakPolicy) -> Streak:
    if count <= 0:
        return streak
    held = min(policy.max_freezes, streak.freezes + count)
    return Streak(streak.run, streak.longest, streak.last_active_day, held, streak.frozen_days)


def advance(
    streak: Streak, day: date, policy: StreakPolicy = DEFAULT_POLICY, granted: int = 0
) -> Streak | None:
    """The streak after ``day`` became a streak day, ``granted`` freezes granted on days up
    to ``day`` first; None when ``day`` precedes the last streak day (only a rebuild from
    every day can tell what it joins)."""
    streak = _add_freezes(streak, granted, policy)
    last = streak.last_active_day
    if last is not None and day <= last:
        return streak if day == last else None
    freezes, frozen = streak.freezes, streak.frozen_days
    if last is None:
        run = 1
    else:
        missed = (day - last).days - 1
        if missed == 0:
            run = streak.run + 1
        elif missed <= freezes:
            run = streak.run + 1
            freezes -= missed
            frozen = frozen + tuple(last + timedelta(days=n) for n in range(1, missed + 1))
        else:
            run = 1
    if policy.freeze_every and run % policy.freeze_every == 0:
        freezes = min(policy.max_freezes, freezes + 1)
    return Streak(run, max(streak.longest, run), day, freezes, frozen)


def extend(streak: Streak, day: date) -> Streak | None:
    """``advance`` with no freezes ever earned or granted (the plain run of days)."""
    return advance(streak, day, StreakPolicy(freeze_every=0))


def fold(
    days: Iterable[date],
    grant_days: Sequence[tuple[date, int]] = (),
    policy: StreakPolicy = DEFAULT_POLICY,
) -> Streak:
    """The streak from every streak day and every grant (day, count): the reference that
    the incremental path and the recompute share."""
    grants = sorted(grant_days)
    streak, next_grant = NO_STREAK, 0
    for day in sorted(set(days)):
        granted = 0
        while next_grant < len(grants) and grants[next_grant][0] <= day:
            granted += grants[next_grant][1]
            next_grant += 1
        advanced = advance(streak, day, policy, granted)
        assert advanced is not None  # days come in order
        streak = advanced
    return _add_freezes(streak, sum(count for _, count in grants[next_grant:]), policy)


def from_days(active_days: list[date]) -> Streak:
    """The plain run of days (no freezes) implied by a set of active days."""
    return fold(active_days, (), StreakPolicy(freeze_every=0))


def local_day(
    moment: datetime, timezone: str, floor: date | None = None, day_start_hour: int = 0
) -> date:
    """The learner's local day of ``moment``: the date in ``timezone`` of ``moment`` less
    the day-start hour, never before ``floor`` (the last day counted under the zone in use
    before; see the time-zone history, migration 0014)."""
    shifted = moment.astimezone(ZoneInfo(timezone)) - timedelta(hours=day_start_hour)
    day = shifted.date()
    return max(day, floor) if floor is not None else day


def next_day_start(moment: datetime, timezone: str, day_start_hour: int = 0) -> datetime:
    """When the local day after the one holding ``moment`` begins in ``timezone``."""
    today = local_day(moment, timezone, None, day_start_hour)
    return datetime.combine(
        today + timedelta(days=1), time(day_start_hour), tzinfo=ZoneInfo(timezone)
    )
