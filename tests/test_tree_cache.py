"""The process's course trees: one version per course, a bounded number of courses."""

import uuid
from dataclasses import dataclass

from gql.content.tree_cache import TreeCache


@dataclass(frozen=True)
class Tree:
    version: int


def test_tree_is_returned_only_for_the_version_it_was_read_at() -> None:
    cache: TreeCache[Tree] = TreeCache(4)
    course = uuid.uuid4()
    cache.put(course, Tree(7))

    assert cache.get(course, 7) == Tree(7)
    assert cache.get(course, 8) is None
    # Versions are not ordered (concurrent writers can commit them out of order): an
    # older number is as foreign as a newer one.
    assert cache.get(course, 6) is None
    assert cache.get(course, None) is None


def test_a_tree_of_another_version_replaces_the_old_one() -> None:
    cache: TreeCache[Tree] = TreeCache(4)
    course = uuid.uuid4()
    cache.put(course, Tree(7))
    cache.put(course, Tree(9))

    assert cache.get(course, 7) is None
    assert cache.get(course, 9) == Tree(9)
    assert len(cache) == 1


def test_least_recently_used_course_is_evicted_beyond_the_bound() -> None:
    cache: TreeCache[Tree] = TreeCache(2)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    cache.put(first, Tree(1))
    cache.put(second, Tree(1))
    assert cache.get(first, 1) is not None  # first is now the most recently used

    cache.put(third, Tree(1))

    assert len(cache) == 2
    assert cache.get(second, 1) is None
    assert cache.get(first, 1) == cache.get(third, 1) == Tree(1)


def test_zero_courses_keeps_nothing() -> None:
    cache: TreeCache[Tree] = TreeCache(0)
    course = uuid.uuid4()
    cache.put(course, Tree(1))

    assert cache.get(course, 1) is None
    assert len(cache) == 0
