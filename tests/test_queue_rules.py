"""Pure queue rules, without a database: lease fencing and request bounds."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain import reservations, task_queue
from domain.errors import QueueRequestRejected

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)

TASK, OTHER = uuid.uuid4(), uuid.uuid4()


@pytest.mark.parametrize(
    ("lease", "task", "expected"),
    [
        (task_queue.Lease(TASK, "reserved", NOW + MIN), TASK, None),
        (task_queue.Lease(TASK, "reserved", NOW + MIN), None, None),
        (task_queue.Lease(TASK, "reserved", NOW), TASK, "LEASE_EXPIRED"),
        (task_queue.Lease(TASK, "reserved", NOW - MIN), TASK, "LEASE_EXPIRED"),
        (task_queue.Lease(TASK, "done", NOW + MIN), TASK, "LEASE_EXPIRED"),
        (task_queue.Lease(TASK, "queued", None), TASK, "LEASE_EXPIRED"),
        (None, TASK, "LEASE_EXPIRED"),
        (task_queue.Lease(TASK, "reserved", NOW + MIN), OTHER, "LEASE_TASK_MISMATCH"),
    ],
)
def test_a_lease_holds_only_while_reserved_and_unexpired(
    lease: task_queue.Lease | None, task: uuid.UUID | None, expected: str | None
) -> None:
    assert task_queue.lease_problem(lease, task_id=task, now=NOW) == expected


@pytest.mark.parametrize("limit", [0, -1, 51])
def test_limits_outside_1_to_50_are_refused(limit: int) -> None:
    with pytest.raises(QueueRequestRejected) as error:
        reservations.check_limit(limit)
    assert error.value.code == "INVALID_LIMIT"


@pytest.mark.parametrize(("seconds", "ok"), [(9, False), (10, True), (43200, True), (43201, False)])
def test_visibility_is_bounded_from_10_seconds_to_12_hours(seconds: int, ok: bool) -> None:
    if ok:
        assert reservations.check_visibility(seconds) == timedelta(seconds=seconds)
        return
    with pytest.raises(QueueRequestRejected) as error:
        reservations.check_visibility(seconds)
    assert error.value.code == "INVALID_VISIBILITY"
