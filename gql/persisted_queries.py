"""Automatic persisted queries, the protocol Apollo clients speak (APQ).

A client sends ``extensions.persistedQuery = {version: 1, sha256Hash}`` and no query: the
URL of a GET stays short and the same for every request of one operation, so an HTTP cache
can revalidate it. A hash this process does not know is answered ``PersistedQueryNotFound``
(``extensions.code`` PERSISTED_QUERY_NOT_FOUND); the client then sends the query with the
hash, the hash is checked against the query, and the query is kept for next time.

The cache is per process, in memory and bounded by entries and by characters, least
recently used out: a hash another worker learned, or one evicted, costs the client one more
round trip, which the protocol expects anyway. A query is kept only once it has parsed and
validated, so the cache never holds a document that cannot run.
"""

import hashlib
from collections import OrderedDict

from gql.graphql_request import GraphQLRequest
from gql.http_errors import RequestRefused

# Apollo clients match the message as well as the code. Both answers are 200: older Apollo
# clients stop using persisted queries for good after a 400 or a 500.
NOT_FOUND = ("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
NOT_SUPPORTED = ("PersistedQueryNotSupported", "PERSISTED_QUERY_NOT_SUPPORTED")


class PersistedQueryUnavailable(Exception):
    """The request names a query by hash that this process cannot supply (answered 200)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def sha256_hex(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


class PersistedQueries:
    def __init__(self, *, max_entries: int, max_chars: int) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        self._queries: OrderedDict[str, str] = OrderedDict()
        self._chars = 0

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0 and self.max_chars > 0

    def query_for(self, request: GraphQLRequest) -> str:
        """The query text of ``request``: as sent (its hash checked), or stored under its hash.

        Raises PersistedQueryUnavailable for an unknown hash (or when disabled), and
        RequestRefused (400) when the query does not hash to the hash sent with it.
        """
        digest = request.persisted_hash
        if digest is None:
            assert request.query is not None, "the request parser demands one of them"
            return request.query
        if not self.enabled:
            raise PersistedQueryUnavailable(*NOT_SUPPORTED)
        if request.query is None:
            stored = self._queries.get(digest)
            if stored is None:
                raise PersistedQueryUnavailable(*NOT_FOUND)
            self._queries.move_to_end(digest)
            return stored
        if sha256_hex(request.query) != digest:
            raise RequestRefused(
                400,
                "the query's SHA-256 is not extensions.persistedQuery.sha256Hash",
                code="PERSISTED_QUERY_HASH_MISMATCH",
            )
        return request.query

    def remember(self, digest: str, query: str) -> None:
        """Keep ``query`` under its (checked) ``digest``, evicting the least recently used."""
        if not self.enabled or digest in self._queries or len(query) > self.max_chars:
            return
        self._queries[digest] = query
        self._chars += len(query)
        while len(self._queries) > self.max_entries or self._chars > self.max_chars:
            _, evicted = self._queries.popitem(last=False)
            self._chars -= len(evicted)

    def __len__(self) -> int:
        return len(self._queries)
