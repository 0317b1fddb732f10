"""The retry ladder and FSRS reviews: pure functions, tested without a database."""

from datetime import UTC, datetime, timedelta

import fsrs
import pytest
from pydantic import ValidationError

from domain import content_document, retry_policy
from domain.errors import ContentImportError
from domain.retry_policy import FsrsReview, NextStep, PolicyDocument, RetryLadder, Review

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MIN, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


def _after_failure(policy: retry_policy.Policy, failure_count: int) -> NextStep:
    return policy.next_step(solved=False, failure_count=failure_count, history=[], now=NOW)


@pytest.mark.parametrize(
    ("failure_count", "expected"),
    [
        (1, NextStep("queued", "retry", NOW + 10 * MIN)),
        (2, NextStep("queued", "retry", NOW + HOUR)),
        (3, NextStep("queued", "retry", NOW + DAY)),
        (4, NextStep("queued", "retry", NOW + 3 * DAY)),
        (5, retry_policy.EXPIRED),
        (9, retry_policy.EXPIRED),
    ],
)
def test_default_ladder_retries_after_growing_delays_then_expires(
    failure_count: int, expected: NextStep
) -> None:
    assert _after_failure(RetryLadder(), failure_count) == expected


@pytest.mark.parametrize(
    ("failure_count", "expected"),
    [
        (1, NextStep("queued", "retry", NOW + 30 * MIN)),
        (2, NextStep("queued", "retry", NOW + 2 * HOUR)),
        (3, NextStep("queued", "retry", NOW + 2 * HOUR)),  # the last delay repeats
        (4, NextStep("queued", "retry", NOW + 2 * HOUR)),
        (5, NextStep("queued", "retry", NOW + 2 * HOUR)),
        (6, retry_policy.EXPIRED),
    ],
)
def test_course_override_sets_its_own_ladder_and_maximum(
    failure_count: int, expected: NextStep
) -> None:
    document = PolicyDocument.model_validate(
        {"retry_delay_seconds": [1800, 7200], "max_retries": 5}
    )

    assert _after_failure(document.policy(), failure_count) == expected


def test_zero_max_retries_expires_on_the_first_failure() -> None:
    policy = retry_policy.policy_from_json({"max_retries": 0})

    assert _after_failure(policy, 1) == retry_policy.EXPIRED


def test_a_solve_is_done_under_the_ladder() -> None:
    step = RetryLadder().next_step(solved=True, failure_count=3, history=[], now=NOW)

    assert step == retry_policy.DONE


def test_no_stored_policy_means_the_default_ladder() -> None:
    assert retry_policy.policy_from_json(None) == RetryLadder()
    assert retry_policy.policy_from_json({}) == RetryLadder()


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"retry_delay_seconds": []}, "retry_delay_seconds"),
        ({"retry_delay_seconds": [0]}, "retry_delay_seconds"),
        ({"retry_delay_seconds": ["10m"]}, "retry_delay_seconds"),
        ({"max_retries": -1}, "max_retries"),
        ({"review": "sm2"}, "review"),
        ({"target_retention": 1.0}, "target_retention"),
        ({"target_retention": 0.5}, "target_retention"),
        ({"retry_delays": [60]}, "retry_delays"),
    ],
)
def test_bad_policy_documents_are_refused_naming_the_field(
    document: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        PolicyDocument.model_validate(document)

    assert error.value.errors()[0]["loc"][0] == field


# --- FSRS --------------------------------------------------------------------------------


def _review_intervals(policy: FsrsReview, outcomes: list[bool]) -> list[timedelta]:
    """Each attempt made exactly when the previous one made the task due; the intervals."""
    history: list[Review] = []
    at, intervals = NOW, []
    for solved in outcomes:
        history.append(Review(at, solved, 1))
        step = policy.next_step(solved=solved, failure_count=0, history=history, now=at)
        assert step.due_at is not None
        intervals.append(step.due_at - at)
        at = step.due_at
    return intervals


def test_fsrs_review_intervals_grow_after_successive_solves() -> None:
    intervals = _review_intervals(FsrsReview(), [True] * 6)

    # the first solve ends FSRS's learning step; every later one waits longer
    assert intervals[0] == 10 * MIN
    assert all(a < b for a, b in zip(intervals, intervals[1:], strict=False))
    assert intervals[-1] > 30 * DAY


def test_fsrs_interval_shrinks_after_a_failure() -> None:
    intervals = _review_intervals(FsrsReview(), [True, True, True, True, False, True])

    before, relearning, after = intervals[3], intervals[4], intervals[5]
    assert relearning == 10 * MIN  # FSRS's relearning step
    assert after < before


def test_fsrs_solved_tasks_are_reviews_and_failed_ones_retries() -> None:
    policy = FsrsReview()
    solved = policy.next_step(solved=True, failure_count=0, history=[Review(NOW, True, 1)], now=NOW)
    failed = policy.next_step(
        solved=False, failure_count=1, history=[Review(NOW, False, 1)], now=NOW
    )

    assert (solved.state, solved.reason) == ("queued", "review")
    assert (failed.state, failed.reason, failed.due_at) == ("queued", "retry", NOW + MIN)


def test_higher_target_retention_reviews_sooner() -> None:
    relaxed = _review_intervals(FsrsReview(target_retention=0.8), [True] * 4)
    strict = _review_intervals(FsrsReview(target_retention=0.97), [True] * 4)

    assert strict[-1] < relaxed[-1]


HISTORY = [
    Review(NOW, False, 1),
    Review(NOW + 2 * MIN, True, 3),
    Review(NOW + 15 * MIN, True, 1),
    Review(NOW + 3 * DAY, True, 1),
    Review(NOW + 12 * DAY, False, 2),
    Review(NOW + 12 * DAY + 20 * MIN, True, 1),
    Review(NOW + 20 * DAY, True, 2),
]


@pytest.mark.parametrize("retention", [0.8, 0.9, 0.95])
@pytest.mark.parametrize("length", range(1, len(HISTORY) + 1))
def test_fsrs_schedule_matches_the_fsrs_package_for_the_same_history(
    retention: float, length: int
) -> None:
    history = HISTORY[:length]
    policy = FsrsReview(target_retention=retention)
    step = policy.next_step(solved=history[-1].solved, failure_count=0, history=history, now=NOW)

    # the package's own replay of the same review log, with the same scheduler settings
    scheduler = fsrs.Scheduler(desired_retention=retention, enable_fuzzing=False)
    logs = [
        fsrs.ReviewLog(
            card_id=7,
            rating=fsrs.Rating.Again
            if not r.solved
            else fsrs.Rating.Good
            if r.tries == 1
            else fsrs.Rating.Hard,
            review_datetime=r.at,
            review_duration=None,
        )
        for r in history
    ]
    expected = scheduler.reschedule_card(fsrs.Card(card_id=7), logs)

    assert step.due_at == expected.due


def test_fsrs_policy_comes_from_the_course_document() -> None:
    policy = retry_policy.policy_from_json(
        {"review": "fsrs", "target_retention": 0.85, "relearning_step_seconds": [300]}
    )

    assert policy == FsrsReview(
        target_retention=0.85,
        learning_steps=(MIN, 10 * MIN),
        relearning_steps=(5 * MIN,),
    )
    assert policy.wants_history and not RetryLadder().wants_history


def test_a_bad_course_policy_in_a_content_file_is_refused_with_its_path() -> None:
    course = {"key": "c", "title": "C", "queue_policy": {"max_retries": -1, "review": "sm2"}}

    with pytest.raises(ContentImportError) as error:
        content_document.parse_document({"courses": [course]})

    assert [p.path for p in error.value.problems] == [
        "courses[0].queue_policy.max_retries",
        "courses[0].queue_policy.review",
    ]
