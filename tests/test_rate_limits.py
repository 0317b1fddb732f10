"""Rate limits: the leaky bucket alone (what fits, what waits, how long), then through the
API (429 with Retry-After, per learner and per address, nothing run)."""

import uuid
from collections.abc import Callable

import httpx

from gql.rate_limits import LeakyBuckets
from tests.conftest import StatementCounter
from tests.graphql_client import GraphQLClient


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


PAGE = "{ courses(first: 5) { nodes { id title } } }"


async def _until_limited(client: GraphQLClient, user: uuid.UUID | None) -> list[httpx.Response]:
    answers = []
    for _ in range(1000):  # a safety net: the bucket holds a few dozen of these
        response = await client.post(PAGE, user=user)
        answers.append(response)
        if response.status_code == 429:
            return answers
    raise AssertionError("never limited")


async def test_a_learner_over_budget_gets_429_with_retry_after_and_others_do_not(
    make_client: Callable[..., GraphQLClient],
) -> None:
    # Draining a point a thousand seconds: nothing refills while the test runs.
    client = make_client(
        rate_limits=True, max_cost=100, rate_limit_burst=100, rate_limit_per_second=0.001
    )
    ada, grace = uuid.uuid4(), uuid.uuid4()

    answers = await _until_limited(client, ada)
    other = await client.post(PAGE, user=grace)

    *served, refused = answers
    left = [r.json()["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] for r in served]
    cost = served[0].json()["extensions"]["cost"]["requestedQueryCost"]
    assert cost > 0 and left == [100 - cost * n for n in range(1, len(served) + 1)]
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    body = refused.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert body["errors"][0]["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] < cost
    assert other.status_code == 200 and "errors" not in other.json()


async def test_anonymous_clients_share_their_address_bucket(
    make_client: Callable[..., GraphQLClient],
) -> None:
    client = make_client(
        rate_limits=True, max_cost=100, rate_limit_burst=100, rate_limit_per_second=0.001
    )

    answers = await _until_limited(client, None)

    assert answers[-1].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_a_refused_request_runs_nothing(
    make_client: Callable[..., GraphQLClient], count_statements: StatementCounter
) -> None:
    client = make_client(
        rate_limits=True, max_cost=100, rate_limit_burst=100, rate_limit_per_second=0.001
    )
    user = uuid.uuid4()
    mutation = 'mutation { updateViewer(input: {handle: "x"}) { __typename } }'

    for _ in range(1000):  # a safety net: the bucket holds a few dozen of these
        before = count_statements.count
        response = await client.post(mutation, user=user)
        if response.status_code == 429:
            break
        assert count_statements.count > before

    assert response.status_code == 429
    assert count_statements.count == before


async def test_limits_are_off_in_development_and_on_in_production(
    make_client: Callable[..., GraphQLClient],
) -> None:
    development = await make_client().post(PAGE)
    production = await make_client(env="production", jwt_secret="s" * 40).post(PAGE)

    assert "extensions" not in development.json()
    assert production.json()["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] == 50_000
