"""What every resolver gets: the database, the caller's identity and per-request loaders."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from db.engine import Database
from domain.attempts import AttemptPolicy
from gql.auth import Identity
from gql.content.tree_cache import TreeCache
from gql.errors import Forbidden, Unauthenticated
from gql.loaders import Loaders
from gql.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    database: Database
    settings: Settings
    identity: Identity | None
    auth_problem: str | None = None
    clock: Callable[[], datetime] = utc_now
    # The process's built course trees (gql/content/tree.py); one that keeps nothing
    # unless the app hands its own.
    trees: TreeCache[Any] = field(default_factory=lambda: TreeCache(0))
    # Values fetched in bulk for this request, by map name and key, that fields marked
    # ``prefetched_by_key`` answer from (gql/fast_execution.py): the viewer's progress on
    # the nodes of a shared tree.
    prefetched: dict[str, dict[Any, Any]] = field(default_factory=dict, init=False)
    # Set once anything asked for the time: the answer is then only good for a while, and
    # its ETag says so (gql/revalidation.py).
    clock_read: bool = field(default=False, init=False)

    @cached_property
    def loaders(self) -> Loaders:
        # Built on first use: a request answered 304 (or refused) never needs them.
        return Loaders(self.database, self.now, self.settings.streak_policy)

    @property
    def user_id(self) -> uuid.UUID:
        """The authenticated user's id; UNAUTHENTICATED when there is none."""
        if self.identity is None:
            raise Unauthenticated(self.auth_problem or "this field needs a bearer token")
        return self.identity.user_id

    def forget_reads(self) -> None:
        """Drop what this request's loaders hold: called after a write, so that a later field
        (a mutation's payload, the next mutation of the document) reads what is stored now."""
        self.__dict__.pop("loaders", None)
        self.prefetched.clear()

    def now(self) -> datetime:
        """The server's clock (UTC); tests replace it."""
        self.clock_read = True
        return self.clock()

    def now_for_local_day(self) -> datetime:
        """The clock, for an answer that depends only on the viewer's local day (a streak):
        every viewer's ETag names that day already, so this read does not bound the answer."""
        return self.clock()

    @property
    def attempt_policy(self) -> AttemptPolicy:
        return self.settings.attempt_policy

    def require_admin(self) -> uuid.UUID:
        user_id = self.user_id
        assert self.identity is not None
        if not self.identity.is_admin:
            raise Forbidden("this operation needs the admin role")
        return user_id
