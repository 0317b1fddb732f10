"""The leaky bucket alone: what fits, what waits, and how long."""

from gql.rate_limits import LeakyBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_fits_then_the_bucket_refuses_until_it_drains() -> None:
    clock = Clock()
    buckets = LeakyBuckets(burst=100, per_second=10, clock=clock)

    first = buckets.take("ada", 60)
    second = buckets.take("ada", 30)
    refused = buckets.take("ada", 30)
    clock.now = 2.0  # 20 points drained
    later = buckets.take("ada", 30)

    assert (first.allowed, first.available) == (True, 40)
    assert (second.allowed, second.available) == (True, 10)
    assert (refused.allowed, refused.available, refused.retry_after_seconds) == (False, 10, 2)
    assert (later.allowed, later.available) == (True, 0)


def test_learners_have_buckets_of_their_own() -> None:
    buckets = LeakyBuckets(burst=10, per_second=1, clock=Clock())

    assert buckets.take("ada", 10).allowed
    assert not buckets.take("ada", 1).allowed
    assert buckets.take("grace", 10).allowed


def test_a_request_costing_more_than_the_burst_is_refused_without_pouring() -> None:
    buckets = LeakyBuckets(burst=10, per_second=1, clock=Clock())

    too_big = buckets.take("ada", 11)

    assert not too_big.allowed and too_big.retry_after_seconds == 1
    assert buckets.take("ada", 10).allowed


def test_only_max_keys_buckets_are_kept() -> None:
    buckets = LeakyBuckets(burst=10, per_second=1, max_keys=2, clock=Clock())

    for learner in ("a", "b", "c"):
        buckets.take(learner, 10)

    assert buckets.take("a", 10).allowed  # forgotten: a full bucket again
    assert not buckets.take("c", 1).allowed
