"""The process's course trees: one version per course, a bounded number of courses, and one
build per course for the requests that miss together."""

import asyncio
import uuid
from dataclasses import dataclass

import pytest

from gql.content.tree_cache import TreeCache


@dataclass(frozen=True)
class Tree:
    version: int | None


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


class Builder:
    """Builds trees of ``version``, each after ``release`` is set; counts the builds."""

    def __init__(self, version: int | None, error: Exception | None = None) -> None:
        self.version = version
        self.error = error
        self.builds = 0
        self.release = asyncio.Event()

    async def __call__(self) -> Tree:
        self.builds += 1
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return Tree(self.version)


async def _started(*tasks: "asyncio.Task[Tree]") -> None:
    for _ in range(5):  # let every task reach its first wait
        await asyncio.sleep(0)
    assert not any(task.done() for task in tasks)


async def test_requests_that_miss_together_share_one_build() -> None:
    cache: TreeCache[Tree] = TreeCache(4)
    course, builder = uuid.uuid4(), Builder(7)
    requests = [asyncio.create_task(cache.get_or_build(course, 7, builder)) for _ in range(5)]
    await _started(*requests)

    builder.release.set()
    trees = await asyncio.gather(*requests)

    assert builder.builds == 1
    assert all(tree is trees[0] for tree in trees)
    assert cache.get(course, 7) is trees[0]


async def test_a_build_of_another_version_is_not_taken() -> None:
    # The request read version 8, the build in flight read 7: it reads its own.
    cache: TreeCache[Tree] = TreeCache(4)
    course, older, newer = uuid.uuid4(), Builder(7), Builder(8)
    first = asyncio.create_task(cache.get_or_build(course, 7, older))
    second = asyncio.create_task(cache.get_or_build(course, 8, newer))
    await _started(first, second)

    older.release.set()
    newer.release.set()

    assert ((await first).version, (await second).version) == (7, 8)
    assert (older.builds, newer.builds) == (1, 1)
    assert cache.get(course, 8) == Tree(8)


async def test_a_failed_build_fails_its_own_request_and_the_others_build_again() -> None:
    cache: TreeCache[Tree] = TreeCache(4)
    course = uuid.uuid4()
    failing, working = Builder(7, error=RuntimeError("database gone")), Builder(7)
    first = asyncio.create_task(cache.get_or_build(course, 7, failing))
    second = asyncio.create_task(cache.get_or_build(course, 7, working))
    await _started(first, second)

    failing.release.set()
    working.release.set()

    with pytest.raises(RuntimeError, match="database gone"):
        await first
    assert await second == Tree(7)
    assert (failing.builds, working.builds) == (1, 1)


async def test_cancelling_the_builder_or_a_waiter_leaves_the_others_one_build() -> None:
    cache: TreeCache[Tree] = TreeCache(4)
    course = uuid.uuid4()
    cancelled_builder, builder = Builder(7), Builder(7)
    first = asyncio.create_task(cache.get_or_build(course, 7, cancelled_builder))
    second = asyncio.create_task(cache.get_or_build(course, 7, builder))
    third = asyncio.create_task(cache.get_or_build(course, 7, Builder(7)))
    await _started(first, second, third)

    first.cancel()  # the builder's client went away: second builds, third waits for that
    await _started(second, third)
    waiter = asyncio.create_task(cache.get_or_build(course, 7, Builder(7)))
    await _started(second, third, waiter)
    waiter.cancel()  # a waiter going away does not stop the build it waits for
    builder.release.set()

    with pytest.raises(asyncio.CancelledError):
        await first
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert await second == await third == Tree(7)
    assert (cancelled_builder.builds, builder.builds) == (1, 1)


async def test_a_tree_without_a_version_is_built_but_not_kept() -> None:
    cache: TreeCache[Tree] = TreeCache(4)
    course, builder = uuid.uuid4(), Builder(None)
    builder.release.set()

    assert await cache.get_or_build(course, None, builder) == Tree(None)
    assert len(cache) == 0
