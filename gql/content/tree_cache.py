"""Built course trees shared by the requests of one process, each labelled with the content
version it was read at.

Content changes rarely and every change moves the one content version (migration 0008), so
a tree read in the same snapshot as version V is the content of every later snapshot that
still reads V: a request that reads V with its course row can reuse the tree as it is. The
cache holds at most ``max_courses`` trees, the most recently used ones, and one version per
course: a tree of another version replaces it.
"""

import uuid
from collections import OrderedDict
from typing import Generic, Protocol, TypeVar


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


T = TypeVar("T", bound=Versioned)


class TreeCache(Generic[T]):
    def __init__(self, max_courses: int) -> None:
        self.max_courses = max_courses
        self._trees: OrderedDict[uuid.UUID, T] = OrderedDict()

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

    def __len__(self) -> int:
        return len(self._trees)
