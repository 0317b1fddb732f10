"""Built course trees shared by the requests of one process, each labelled with the content
version it was read at.

Content changes rarely and every change moves the one content version (migration 0008), so
a tree read in the same snapshot as version V is the content of every later snapshot that
still reads V: a request that reads V with its course row can reuse the tree as it is. The
cache holds at most ``max_courses`` trees, the most recently used ones, and one version per
course: a tree of another version replaces it.

After a content change every request for a course misses at once. The first builds the
tree; the others wait for that build and take its tree when it is of the version they read
(otherwise they build their own; when that build fails, the first of them to resume builds
and the rest wait for it). So a change costs one build per course and process, not one per
request in flight.
"""

import asyncio
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar


class Versioned(Protocol):
    @property
    def version(self) -> int | None: ...


T = TypeVar("T", bound=Versioned)


class TreeCache(Generic[T]):
    def __init__(self, max_courses: int) -> None:
        self.max_courses = max_courses
        self._trees: OrderedDict[uuid.UUID, T] = OrderedDict()
        self._building: dict[uuid.UUID, asyncio.Future[T]] = {}

    def get(self, course_id: uuid.UUID, version: int | None) -> T | None:
        """The course's tree if it was read at ``version``; None for any other (or no) version."""
        tree = self._trees.get(course_id)
        if tree is None or version is None or tree.version != version:
            return None
        self._trees.move_to_end(course_id)
        return tree

    def put(self, course_id: uuid.UUID, tree: T) -> None:
        """Keep ``tree`` for its course, replacing another version; evicts the least recently
        used course beyond ``max_courses``."""
        if self.max_courses <= 0:
            return
        self._trees[course_id] = tree
        self._trees.move_to_end(course_id)
        while len(self._trees) > self.max_courses:
            self._trees.popitem(last=False)

    async def get_or_build(
        self, course_id: uuid.UUID, version: int | None, build: Callable[[], Awaitable[T]]
    ) -> T:
        """The course's tree of ``version``: the kept one, the one another request is building
        if it turns out to be of ``version``, or else one ``build`` reads (kept when it has a
        version). A build that fails (or is cancelled) fails its own request only."""
        while True:
            tree = self.get(course_id, version)
            if tree is not None:
                return tree
            pending = self._building.get(course_id)
            if pending is None:
                return await self._build(course_id, build)
            tree = await _outcome(pending)
            if tree is None:
                continue  # that build failed: another waiting request may be building now
            if version is not None and tree.version == version:
                return tree
            return await self._build(course_id, build)

    async def _build(self, course_id: uuid.UUID, build: Callable[[], Awaitable[T]]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._building[course_id] = future
        try:
            tree = await build()
        except BaseException:
            future.cancel()  # the waiting requests build their own
            raise
        finally:
            if self._building.get(course_id) is future:
                del self._building[course_id]
        future.set_result(tree)
        if tree.version is not None:
            self.put(course_id, tree)
        return tree

    def __len__(self) -> int:
        return len(self._trees)


async def _outcome(pending: asyncio.Future[T]) -> T | None:
    """The tree another request builds; None when that build failed or was cancelled. This
    request's own cancellation is raised, and does not cancel the build."""
    try:
        return await asyncio.shield(pending)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if pending.cancelled() and (task is None or not task.cancelling()):
            return None
        raise
