"""Relay global ids: base64 of ``TypeName:uuid``, or ``TypeName:part:part…`` for an object
whose identity is a composite key (a learner's award or enrollment)."""

import base64
import binascii
import uuid
from functools import lru_cache

from gql.errors import BadUserInput


@lru_cache(maxsize=131_072)
def to_global_id(type_name: str, id_: uuid.UUID) -> str:
    # Cached: a course page encodes the same thousand ids on every request.
    return base64.urlsafe_b64encode(f"{type_name}:{id_}".encode()).decode()


def to_global_key(type_name: str, *parts: object) -> str:
    """The global id of an object identified by several values (the last may hold ':')."""
    return base64.urlsafe_b64encode(":".join(map(str, (type_name, *parts))).encode()).decode()


def split_global_id(global_id: str) -> tuple[str, str]:
    """A global id's type name and the rest; BAD_USER_INPUT when it does not decode."""
    try:
        decoded = base64.urlsafe_b64decode(global_id.encode("ascii")).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise BadUserInput(f"'{global_id[:64]}' is not a valid id") from exc
    type_name, separator, rest = decoded.partition(":")
    if not separator:
        raise BadUserInput(f"'{global_id[:64]}' is not a valid id")
    return type_name, rest


def from_global_id(global_id: str) -> tuple[str, uuid.UUID]:
    """Split a global id into its type name and UUID; BAD_USER_INPUT when malformed."""
    type_name, raw = split_global_id(global_id)
    try:
        return type_name, uuid.UUID(raw)
    except ValueError as exc:
        raise BadUserInput(f"'{global_id[:64]}' is not a valid id") from exc


def parse_key(global_id: str, type_name: str, parts: int) -> list[str]:
    """The ``parts`` values of a composite global id of ``type_name``; BAD_USER_INPUT for a
    malformed id or another type's."""
    found, rest = split_global_id(global_id)
    values = rest.split(":", parts - 1)
    if found != type_name or len(values) != parts:
        raise BadUserInput(f"expected a {type_name} id")
    return values


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
