"""Relay global ids: base64 of ``TypeName:uuid``."""

import base64
import binascii
import uuid
from functools import lru_cache

from gql.errors import BadUserInput


@lru_cache(maxsize=131_072)
def to_global_id(type_name: str, id_: uuid.UUID) -> str:
    # Cached: a course page encodes the same thousand ids on every request.
    return base64.urlsafe_b64encode(f"{type_name}:{id_}".encode()).decode()


def from_global_id(global_id: str) -> tuple[str, uuid.UUID]:
    """Split a global id into its type name and UUID; BAD_USER_INPUT when malformed."""
    try:
        decoded = base64.urlsafe_b64decode(global_id.encode("ascii")).decode("utf-8")
        type_name, _, raw = decoded.partition(":")
        return type_name, uuid.UUID(raw)
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise BadUserInput(f"'{global_id[:64]}' is not a valid id") from exc


def parse_id(global_id: str, type_name: str) -> uuid.UUID:
    """The UUID inside a global id of ``type_name``; BAD_USER_INPUT for any other id."""
    found, id_ = from_global_id(global_id)
    if found != type_name:
        raise BadUserInput(f"expected a {type_name} id")
    return id_


def find_id(global_id: str, type_name: str) -> uuid.UUID | None:
    """The UUID inside a global id of ``type_name``; None for a malformed id or another
    type's. Mutations answer None with their own not-found error, as for an unknown id: a
    typed error in the payload, never a GraphQL error that nulls the other fields."""
    try:
        return parse_id(global_id, type_name)
    except BadUserInput:
        return None
