"""Opaque connection cursors: a position in a list (a few values) as base64 text.

A cursor that does not decode into the expected values is BAD_USER_INPUT, never a 500.
"""

import base64
import binascii
from collections.abc import Callable
from typing import Any

from gql.errors import BadUserInput

SEPARATOR = "|"


def encode(*parts: object) -> str:
    """The cursor for a position given by ``parts`` (the last part may contain '|')."""
    return base64.urlsafe_b64encode(SEPARATOR.join(map(str, parts)).encode()).decode()


def decode(
    cursor: str, *converters: Callable[[str], Any], argument: str = "after"
) -> tuple[Any, ...]:
    """The position in ``cursor``, each part converted by the matching ``converters``."""
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii")).decode()
        parts = raw.split(SEPARATOR, len(converters) - 1)
        if len(parts) != len(converters):
            raise ValueError("wrong number of parts")
        return tuple(convert(part) for convert, part in zip(converters, parts, strict=True))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise BadUserInput(f"'{argument}' is not a cursor from this connection") from exc
