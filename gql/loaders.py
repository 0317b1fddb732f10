"""Per-request dataloaders: one batched statement per level of the tree and per progress kind.

Keys are content ids, or (user_id, content id) for the viewer's progress; values are rows
aligned to the keys (None or [] for misses). Each batch takes its own pooled connection.
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from aiodataloader import DataLoader

from db import badge_queries, content_queries, learner_queries, progress_queries
from db.engine import Database
from domain import badge_progress

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
    database: Database, clock: Callable[[], datetime]
) -> "DataLoader[UserKey, list[badge_progress.RuleProgress]]":
    async def batch(keys: Sequence[UserKey]) -> list[list[badge_progress.RuleProgress]]:
        # Keys of one request share the viewer; group anyway so the loader stays honest.
        by_user: dict[uuid.UUID, list[uuid.UUID]] = {}
        for user_id, badge_id in keys:
            by_user.setdefault(user_id, []).append(badge_id)
        found: dict[UserKey, list[badge_progress.RuleProgress]] = {}
        for user_id, badge_ids in by_user.items():
            rows = await database.read(
                badge_progress.progress_by_badge, user_id=user_id, badge_ids=badge_ids, now=clock()
            )
            found.update({(user_id, b): r for b, r in zip(badge_ids, rows, strict=True)})
        return [found[key] for key in keys]

    return DataLoader(batch)


class Loaders:
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self.course_by_id = _loader(database, content_queries.courses_by_id)
        self.section_by_id = _loader(database, content_queries.sections_by_id)
        self.theme_by_id = _loader(database, content_queries.themes_by_id)
        self.task_by_id = _loader(database, content_queries.tasks_by_id)
        self.sections_by_course = _loader(database, content_queries.sections_by_course)
        self.themes_by_section = _loader(database, content_queries.themes_by_section)
        self.tasks_by_theme = _loader(database, content_queries.active_tasks_by_theme)
        self.course_progress = _loader(database, progress_queries.course_progress_by_user_course)
        self.course_tree_snapshot = _loader(database, content_queries.course_tree_snapshots)
        self.course_tree_progress = _loader(database, progress_queries.course_tree_progress)
        self.section_progress = _loader(database, progress_queries.section_progress_by_user_section)
        self.theme_progress = _loader(database, progress_queries.theme_progress_by_user_theme)
        self.task_state = _loader(database, progress_queries.task_state_by_user_task)
        self.badge_by_id = _loader(database, content_queries.badges_by_id)
        self.enrollments_by_user = _loader(database, learner_queries.enrollments_by_user)
        self.rules_by_badge = _loader(database, badge_queries.rules_by_badge)
        self.badge_progress = _badge_progress_loader(database, clock)
