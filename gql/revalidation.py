"""ETags for the answers to GET queries, derived from data versions, never from the answer.

An ETag names everything the answer was computed from: the request (document hash,
operation name, variables, media type), the caller (user id and roles; none when
anonymous), this server (schema, code and settings), and the data: the content version,
the learner's version and local day (domain/data_versions.py). An answer that read the
clock (``Context.now``: the queue preview, badge progress over time windows) is
"time-bound": its ETag also names the slice of ``etag_clock_seconds`` it was computed in,
so it is revalidated within that many seconds; the tag's first character says which kind
it is, so a later request can recompute it without running anything.

Checking ``If-None-Match`` therefore costs one SQL statement (the versions) and no GraphQL
execution: an equal tag means an earlier answer to this very request was computed from the
same data, on the same day (and in the same clock slice), so it is still the answer.
"""

import base64
import hashlib
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from starlette.responses import Response

from domain.data_versions import DataVersion
from gql.auth import Identity
from gql.settings import Settings

TIMELESS = "v"
TIME_BOUND = "t"
# Each answer depends on its caller's token, and must be checked again before each reuse.
CACHE_CONTROL = "private, no-cache"
VARY = "Accept, Authorization"
CODE_PACKAGES = ("gql", "domain", "db", "migrations")
# Deployment plumbing and secrets: they do not change what a query answers.
NOT_IN_FINGERPRINT = {
    "database_url",
    "data_dir",
    "host",
    "port",
    "workers",
    "db_pool_size",
    "jwt_secret",
    "jwt_public_key",
    "jwt_private_key",
    "graphiql_default_headers",
    "cors_origins",
    "metrics",
    "tree_cache_courses",
}


@dataclass(frozen=True, slots=True)
class RequestKey:
    """What identifies one GET request's answer, apart from the data."""

    document_hash: str
    operation_name: str | None
    variables: bytes  # canonical JSON
    media_type: str
    user_id: uuid.UUID | None
    roles: tuple[str, ...]

    @classmethod
    def of(
        cls,
        *,
        document_hash: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        media_type: str,
        identity: Identity | None,
    ) -> "RequestKey":
        return cls(
            document_hash=document_hash,
            operation_name=operation_name,
            variables=orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS),
            media_type=media_type,
            user_id=identity.user_id if identity else None,
            roles=tuple(sorted(identity.roles)) if identity else (),
        )


class ETags:
    def __init__(self, *, server: bytes, clock_seconds: int) -> None:
        self.server = server
        self.clock_seconds = clock_seconds

    @classmethod
    def for_server(cls, schema_sdl: str, settings: Settings) -> "ETags":
        return cls(
            server=server_fingerprint(schema_sdl, settings),
            clock_seconds=settings.etag_clock_seconds,
        )

    def tag(self, key: RequestKey, version: DataVersion, *, time_bound: bool) -> str | None:
        """The ETag of an answer to ``key`` computed from ``version``; None when a
        time-bound answer may not be revalidated (``etag_clock_seconds`` = 0)."""
        if time_bound and self.clock_seconds <= 0:
            return None
        kind = TIME_BOUND if time_bound else TIMELESS
        return f'W/"{kind}{self._opaque(kind, key, version)}"'

    def matching(
        self, if_none_match: str | None, key: RequestKey, version: DataVersion
    ) -> str | None:
        """The tag in ``If-None-Match`` that is still current for ``key``, if any."""
        if not if_none_match:
            return None
        current: dict[str, str | None] = {}
        for candidate in if_none_match.split(","):
            opaque = candidate.strip().removeprefix("W/").strip('"')
            kind = opaque[:1]
            if kind not in (TIMELESS, TIME_BOUND):
                continue  # "*" too: whether an answer exists is only known by running it
            if kind not in current:
                current[kind] = self.tag(key, version, time_bound=kind == TIME_BOUND)
            tag = current[kind]
            if tag is not None and tag[3:-1] == opaque:
                return tag
        return None

    def _opaque(self, kind: str, key: RequestKey, version: DataVersion) -> str:
        slot = int(version.read_at.timestamp()) // self.clock_seconds if kind == TIME_BOUND else 0
        digest = hashlib.blake2b(self.server, digest_size=18)
        digest.update(
            orjson.dumps(
                [
                    kind,
                    key.document_hash,
                    key.operation_name,
                    key.media_type,
                    str(key.user_id) if key.user_id else None,
                    key.roles,
                    version.content,
                    version.learner,
                    version.local_day.isoformat() if version.local_day else None,
                    slot,
                ]
            )
        )
        digest.update(key.variables)
        return base64.urlsafe_b64encode(digest.digest()).decode()


def mark_cacheable(response: Response, tag: str) -> None:
    """Let the client keep ``response`` and ask again with ``If-None-Match: tag``."""
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Vary"] = VARY


def not_modified(tag: str) -> Response:
    return Response(
        status_code=304,
        headers={"ETag": tag, "Cache-Control": CACHE_CONTROL, "Vary": VARY},
    )


def server_fingerprint(schema_sdl: str, settings: Settings) -> bytes:
    """Changes with the schema, the code and any setting that can change an answer, so a
    deploy never answers "not modified" for an answer the old code computed."""
    digest = hashlib.sha256(_code_fingerprint())
    digest.update(schema_sdl.encode())
    digest.update(settings.model_dump_json(exclude=NOT_IN_FINGERPRINT).encode())
    return digest.digest()


@lru_cache(maxsize=1)
def _code_fingerprint() -> bytes:
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in CODE_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.digest()
