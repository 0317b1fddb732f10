"""Streak maths over local calendar days: pure functions, no clock, no database.

A day is active when the learner solved at least one task on it (in their time zone).
``run`` is the length of the run of consecutive active days ending at ``last_active_day``;
``current`` is that run while it is still alive (last active today or yesterday), else 0.
"""

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True, slots=True)
class Streak:
    run: int
    longest: int
    last_active_day: date | None

    def current_on(self, today: date) -> int:
        """The live streak on ``today`` (local): the run if it reaches yesterday or today."""
        if self.last_active_day is None or self.last_active_day < today - timedelta(days=1):
            return 0
        return self.run


NO_STREAK = Streak(run=0, longest=0, last_active_day=None)


def extend(streak: Streak, day: date) -> Streak | None:
    """The streak after ``day`` became active; None when ``day`` precedes the last active day.

    A day before the last active day (a late offline attempt) can join or bridge earlier
    runs, which only a rebuild from the daily activity can tell.
    """
    last = streak.last_active_day
    if last is None:
        return Streak(run=1, longest=max(streak.longest, 1), last_active_day=day)
    if day == last:
        return streak
    if day < last:
        return None
    run = streak.run + 1 if day == last + timedelta(days=1) else 1
    return Streak(run=run, longest=max(streak.longest, run), last_active_day=day)


def from_days(active_days: list[date]) -> Streak:
    """The streak implied by a set of active days (the reference the SQL rebuild must match)."""
    days = sorted(set(active_days))
    if not days:
        return NO_STREAK
    longest = run = 1
    for previous, day in zip(days, days[1:], strict=False):
        run = run + 1 if day == previous + timedelta(days=1) else 1
        longest = max(longest, run)
    return Streak(run=run, longest=longest, last_active_day=days[-1])
