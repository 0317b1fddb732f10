"""Rule criteria at the API's edge: content nodes named by global ids, as clients know them.

The domain stores and evaluates criteria with raw UUIDs (``sectionId``, ``themeId``,
``courseId``, at any depth of a composition). Clients see and send the global ids that every
other field uses; a raw UUID or a content key (``sectionKey`` …) is still accepted on input.
"""

import uuid
from typing import Any

from gql.ids import find_id, to_global_id

ID_FIELDS = {"sectionId": "Section", "themeId": "Theme", "courseId": "Course"}


def to_client(criteria: Any) -> Any:
    """Stored criteria with each node id as its global id."""
    return _map(criteria, _global)


def from_client(criteria: Any) -> Any:
    """Criteria sent by a client with each global node id as the raw UUID the domain reads;
    anything else (a raw UUID, a malformed id) is left for the domain to validate."""
    return _map(criteria, _raw)


def _global(type_name: str, value: Any) -> Any:
    try:
        return to_global_id(type_name, uuid.UUID(value))
    except (TypeError, ValueError, AttributeError):
        return value


def _raw(type_name: str, value: Any) -> Any:
    found = find_id(value, type_name) if isinstance(value, str) else None
    return str(found) if found is not None else value


def _map(node: Any, convert: Any) -> Any:
    if isinstance(node, list):
        return [_map(item, convert) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: convert(ID_FIELDS[key], value) if key in ID_FIELDS else _map(value, convert)
        for key, value in node.items()
    }
