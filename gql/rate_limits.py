"""Per-learner rate limits on query cost, a leaky bucket in the spirit of Shopify's.

Each learner (or, without a token, each client address) has a bucket that holds up to
``burst`` cost points and drains at ``per_second`` points a second. A request pours in its
estimated cost (gql/query_cost.py); one that would overflow the bucket is refused, HTTP 429
with ``Retry-After`` and ``RATE_LIMITED``, and pours in nothing. Every answer reports in
``extensions.cost`` what it cost and what is left.

The buckets live in each process: with ``--workers N`` a learner's budget is up to N times
``burst`` when the kernel spreads their connections over the workers. Buckets that drained
empty are forgotten, and at most ``max_keys`` are kept (the least recently used go first).
"""

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    cost: int
    available: int  # points left after this request (before it, when refused)
    retry_after_seconds: int  # 0 when allowed

    def extension(self, burst: int, per_second: float) -> dict[str, object]:
        """``extensions.cost`` of an answer."""
        return {
            "requestedQueryCost": self.cost,
            "throttleStatus": {
                "maximumAvailable": burst,
                "currentlyAvailable": self.available,
                "restoreRate": per_second,
            },
        }


class RateLimited(Exception):
    """A request refused for its cost: answered 429 with ``Retry-After``."""

    def __init__(self, decision: Decision) -> None:
        super().__init__("rate limited")
        self.decision = decision


class LeakyBuckets:
    def __init__(
        self,
        *,
        burst: int,
        per_second: float,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.per_second = per_second
        self.max_keys = max_keys
        self.clock = clock
        # key -> (level, when it was last updated)
        self._levels: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, cost: int) -> Decision:
        """Pour ``cost`` into ``key``'s bucket if it fits."""
        now = self.clock()
        level, since = self._levels.pop(key, (0.0, now))
        level = max(0.0, level - (now - since) * self.per_second)
        if level + cost > self.burst:
            self._keep(key, level, now)
            wait = (level + cost - self.burst) / self.per_second if self.per_second else math.inf
            retry = max(1, math.ceil(wait)) if math.isfinite(wait) else 3600
            return Decision(False, cost, int(self.burst - level), retry)
        level += cost
        self._keep(key, level, now)
        return Decision(True, cost, int(self.burst - level), 0)

    def _keep(self, key: str, level: float, now: float) -> None:
        if level <= 0:
            return  # an empty bucket is the same as none
        self._levels[key] = (level, now)
        while len(self._levels) > self.max_keys:
            self._levels.popitem(last=False)


class Admission:
    """One request's way through its bucket: ``admit`` is handed the operation's cost."""

    def __init__(self, buckets: LeakyBuckets, key: str) -> None:
        self.buckets = buckets
        self.key = key
        self.decision: Decision | None = None

    def admit(self, cost: int) -> None:
        """Pour ``cost``; RateLimited if it does not fit."""
        self.decision = self.buckets.take(self.key, cost)
        if not self.decision.allowed:
            raise RateLimited(self.decision)

    def extension(self) -> dict[str, object] | None:
        """``extensions.cost`` for the answer, once a cost was poured (or refused)."""
        if self.decision is None:
            return None
        return self.decision.extension(self.buckets.burst, self.buckets.per_second)
