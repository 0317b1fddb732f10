"""Per-request dataloaders: one batched statement per level of the tree and per progress kind.

Keys are content ids, or (user_id, content id) for the viewer's progress; values are rows
aligned to the keys (None or [] for misses). Each batch takes its own pooled connection.
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiodataloader import DataLoader

from db import content_queries, learner_queries, progress_queries
from db.engine import Database

K = TypeVar("K")
V = TypeVar("V")

UserKey = tuple[uuid.UUID, uuid.UUID]


def _loader(
    database: Database, query: Callable[[Any, Sequence[K]], Awaitable[list[V]]]
) -> "DataLoader[K, V]":
    async def batch(keys: Sequence[K]) -> list[V]:
        return await database.read(query, keys)

    return DataLoader(batch)


class Loaders:
    def __init__(self, database: Database) -> None:
        self.course_by_id = _loader(database, content_queries.courses_by_id)
        self.section_by_id = _loader(database, content_queries.sections_by_id)
        self.theme_by_id = _loader(database, content_queries.themes_by_id)
        self.task_by_id = _loader(database, content_queries.tasks_by_id)
        self.sections_by_course = _loader(database, content_queries.sections_by_course)
        self.themes_by_section = _loader(database, content_queries.themes_by_section)
        self.tasks_by_theme = _loader(database, content_queries.active_tasks_by_theme)
        self.course_progress = _loader(database, progress_queries.course_progress_by_user_course)
        self.section_progress = _loader(database, progress_queries.section_progress_by_user_section)
        self.theme_progress = _loader(database, progress_queries.theme_progress_by_user_theme)
        self.task_state = _loader(database, progress_queries.task_state_by_user_task)
        self.badge_by_id = _loader(database, content_queries.badges_by_id)
        self.enrollments_by_user = _loader(database, learner_queries.enrollments_by_user)
