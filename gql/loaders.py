"""Per-request dataloaders: one batched statement per level of the tree and per progress kind.

Keys are content ids, or (user_id, content id) for the viewer's progress; values are rows
aligned to the keys (None or [] for misses). Each batch takes its own pooled connection.
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any, Generic, TypeVar

from aiodataloader import DataLoader

from db import badge_queries, content_queries, learner_queries, progress_queries, queue_queries
from db.engine import Database
from domain import badge_progress
from domain.streaks import StreakPolicy

K = TypeVar("K")
V = TypeVar("V")

UserKey = tuple[uuid.UUID, uuid.UUID]


def _loader(
    database: Database, query: Callable[[Any, Sequence[K]], Awaitable[list[V]]]
) -> "DataLoader[K, V]":
    async def batch(keys: Sequence[K]) -> list[V]:
        return await database.read(query, keys)

    return DataLoader(batch)


def _badge_progress_loader(
    database: Database, clock: Callable[[], datetime], policy: StreakPolicy
) -> "DataLoader[UserKey, list[badge_progress.RuleProgress]]":
    async def batch(keys: Sequence[UserKey]) -> list[list[badge_progress.RuleProgress]]:
        # Keys of one request share the viewer; group anyway so the loader stays honest.
        by_user: dict[uuid.UUID, list[uuid.UUID]] = {}
        for user_id, badge_id in keys:
            by_user.setdefault(user_id, []).append(badge_id)
        found: dict[UserKey, list[badge_progress.RuleProgress]] = {}
        for user_id, badge_ids in by_user.items():
            rows = await database.read(
                badge_progress.progress_by_badge,
                user_id=user_id,
                badge_ids=badge_ids,
                now=clock(),
                policy=policy,
            )
            found.update({(user_id, b): r for b, r in zip(badge_ids, rows, strict=True)})
        return [found[key] for key in keys]

    return DataLoader(batch)


class _Batched(Generic[K, V]):
    """A Loaders attribute: the loader of ``query``, built when first read, then kept."""

    def __init__(self, query: Callable[[Any, Sequence[K]], Awaitable[list[V]]]) -> None:
        self.query = query

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, loaders: "Loaders", owner: type) -> "DataLoader[K, V]":
        loader = _loader(loaders._database, self.query)
        loaders.__dict__[self.name] = loader  # read from the instance from now on
        return loader


class Loaders:
    """The request's loaders, each built on first use: most requests need only a few (a
    mutation's payload often none), and a DataLoader costs a few microseconds to build."""

    def __init__(
        self, database: Database, clock: Callable[[], datetime], streak_policy: StreakPolicy
    ) -> None:
        self._database = database
        self._clock = clock
        self._streak_policy = streak_policy

    course_by_id = _Batched(content_queries.courses_by_id)
    section_by_id = _Batched(content_queries.sections_by_id)
    theme_by_id = _Batched(content_queries.themes_by_id)
    task_by_id = _Batched(content_queries.tasks_by_id)
    sections_by_course = _Batched(content_queries.sections_by_course)
    themes_by_section = _Batched(content_queries.themes_by_section)
    tasks_by_theme = _Batched(content_queries.active_tasks_by_theme)
    course_progress = _Batched(progress_queries.course_progress_by_user_course)
    course_tree_snapshot = _Batched(content_queries.course_tree_snapshots)
    course_tree_progress = _Batched(progress_queries.course_tree_progress)
    section_progress = _Batched(progress_queries.section_progress_by_user_section)
    theme_progress = _Batched(progress_queries.theme_progress_by_user_theme)
    task_state = _Batched(progress_queries.task_state_by_user_task)
    badge_by_id = _Batched(content_queries.badges_by_id)
    enrollments_by_user = _Batched(learner_queries.enrollments_by_user)
    rules_by_badge = _Batched(badge_queries.rules_by_badge)
    rule_by_id = _Batched(badge_queries.rules_by_id)
    attempt_by_user_id = _Batched(learner_queries.attempts_by_user_id)
    awards_by_user_badge = _Batched(badge_queries.awards_by_user_badge)
    next_due = _Batched(queue_queries.next_due_by_user_task)

    @cached_property
    def badge_progress(self) -> "DataLoader[UserKey, list[badge_progress.RuleProgress]]":
        return _badge_progress_loader(self._database, self._clock, self._streak_policy)
