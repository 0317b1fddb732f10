"""What badge rules are evaluated over: a snapshot of one learner's achievements.

The database fills it for one attempt (only the scopes that attempt touched) or for the
whole learner (progress, backfill); the rules never query anything themselves.
"""

import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Counts:
    solved: int
    total: int
    first_try: int = 0  # tasks solved with no failed attempt and one try each time


@dataclass(frozen=True, slots=True)
class Facts:
    at: datetime  # the moment evaluated: the attempt's occurredAt, or now
    sections: Mapping[uuid.UUID, Counts] = field(default_factory=dict)
    courses: Mapping[uuid.UUID, Counts] = field(default_factory=dict)
    themes: Mapping[uuid.UUID, Counts] = field(default_factory=dict)
    longest_streak: int = 0
    best_day_solved: int = 0  # most distinct tasks solved on one local day
    solved_total: int = 0  # distinct tasks solved, anywhere
    fast_solves: tuple[int, ...] = ()  # per task: the fastest one-try solve, in ms, sorted
    solve_times: tuple[datetime, ...] = ()  # occurredAt of solving attempts, sorted
    # Counts the database already made (an attempt's facts): days -> solves, ms -> tasks.
    window_counts: Mapping[int, int] = field(default_factory=dict)
    fast_counts: Mapping[int, int] = field(default_factory=dict)

    def solves_within(self, days: int) -> int:
        """Solving attempts in the window of ``days`` days ending at ``at``."""
        if days in self.window_counts:
            return self.window_counts[days]
        start = bisect_left(self.solve_times, self.at - timedelta(days=days))
        return bisect_right(self.solve_times, self.at) - start

    def fast_solve_count(self, max_ms: int) -> int:
        """Tasks solved in one try within ``max_ms`` milliseconds."""
        if max_ms in self.fast_counts:
            return self.fast_counts[max_ms]
        return bisect_right(self.fast_solves, max_ms)
