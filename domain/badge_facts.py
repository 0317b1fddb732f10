"""What badge rules are evaluated over: a snapshot of one learner's achievements.

The database fills it for one attempt (only the scopes that attempt touched, and the
thresholds its rules count with) or for the whole learner (progress); the backfill's
replay fills it from the attempts it has seen. The rules never query anything themselves.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


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
    current_streak: int = 0  # the live streak (days) on the local day evaluated
    best_day_solved: int = 0  # most distinct tasks solved on one local day
    solved_total: int = 0  # distinct tasks solved, anywhere
    # Counted for the thresholds the evaluated rules use (a threshold not counted is 0):
    # days -> solving attempts on the learner's last ``days`` local days, the day of ``at``
    # included; ms -> tasks whose fastest one-try solve took at most that many ms.
    window_counts: Mapping[int, int] = field(default_factory=dict)
    fast_counts: Mapping[int, int] = field(default_factory=dict)

    def solves_within(self, days: int) -> int:
        """Solving attempts on the ``days`` local days ending on the day of ``at``."""
        return self.window_counts.get(days, 0)

    def fast_solve_count(self, max_ms: int) -> int:
        """Tasks solved in one try within ``max_ms`` milliseconds."""
        return self.fast_counts.get(max_ms, 0)
