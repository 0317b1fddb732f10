"""Bearer tokens: JWTs signed with HS256 (a shared secret) or RS256 (a key pair).

``sub`` is the user's UUID; a ``roles`` claim containing ``admin`` grants admin rights.
"""

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt

from gql.settings import Settings

ADMIN_ROLE = "admin"
# Verified tokens kept per process: one per active client is plenty.
VERIFIED_TOKENS = 10_000


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: uuid.UUID
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles


class InvalidToken(Exception):
    """The token is missing a claim, expired, malformed or wrongly signed."""


def identity_from_header(authorization: str | None, settings: Settings) -> Identity | None:
    """The identity in an ``Authorization: Bearer`` header; None when there is no header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("the Authorization header must be 'Bearer <token>'")
    return decode_token(token.strip(), settings)


def decode_token(token: str, settings: Settings) -> Identity:
    """Verify ``token`` with the configured algorithm only; raise InvalidToken otherwise.

    A client sends the same token with every request until it expires, so a verified
    token's identity is kept (``_verified``); its expiry is checked again on every use.
    """
    try:
        identity, expires_at = _verified(token, settings.jwt_verify_key, settings.jwt_algorithm)
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("the token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidToken("the token is not valid") from exc
    if time.time() >= expires_at:  # PyJWT's test: expired once exp <= now
        raise InvalidToken("the token has expired")
    return identity


@lru_cache(maxsize=VERIFIED_TOKENS)
def _verified(token: str, key: str, algorithm: str) -> tuple[Identity, float]:
    """The identity in a token that verifies now, and its expiry (a Unix time). Raises (and
    so keeps nothing) for a token that does not verify: a forged or not-yet-valid token is
    checked again every time."""
    claims = jwt.decode(token, key, algorithms=[algorithm], options={"require": ["sub", "exp"]})
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError as exc:
        raise InvalidToken("the token's subject is not a user id") from exc
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise InvalidToken("the token's roles claim must be a list of strings")
    return Identity(user_id=user_id, roles=frozenset(roles)), float(claims["exp"])


def mint_token(
    settings: Settings,
    *,
    user_id: uuid.UUID,
    admin: bool = False,
    now: datetime | None = None,
    lifetime: timedelta = timedelta(days=30),
) -> str:
    """A signed token for ``user_id`` valid for ``lifetime`` from ``now`` (UTC)."""
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iat": issued,
        "exp": issued + lifetime,
        "roles": [ADMIN_ROLE] if admin else [],
    }
    return jwt.encode(claims, settings.jwt_signing_key, algorithm=settings.jwt_algorithm)
