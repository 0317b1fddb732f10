"""schema.graphql against the last release's: every breaking change is in CHANGELOG.md."""

import re
from pathlib import Path

from graphql import GraphQLSchema, build_schema, find_breaking_changes

from tests.test_schema_file import SCHEMA_FILE

ROOT = Path(__file__).resolve().parent.parent
RELEASES = ROOT / "docs" / "schema"
CHANGELOG = ROOT / "CHANGELOG.md"


def _last_release() -> GraphQLSchema:
    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in path.stem.split("."))

    newest = max(RELEASES.glob("*.graphql"), key=version)
    return build_schema(newest.read_text())


def _listed() -> set[str]:
    """The coordinates in backticks under the changelog's "Unreleased" heading."""
    text = CHANGELOG.read_text()
    unreleased = text.split("## Unreleased", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`([A-Za-z_][\w.]*)`", unreleased))


def unlisted_breaking_changes(
    old: GraphQLSchema, new: GraphQLSchema, listed: set[str]
) -> list[str]:
    """Breaking changes from ``old`` to ``new`` whose description names no listed coordinate."""
    return [
        change.description
        for change in find_breaking_changes(old, new)
        if not set(re.findall(r"[A-Za-z_][\w.]*", change.description)) & listed
    ]


def test_every_breaking_change_since_the_last_release_is_in_the_changelog() -> None:
    current = build_schema(SCHEMA_FILE.read_text())

    assert unlisted_breaking_changes(_last_release(), current, _listed()) == []


def test_an_unlisted_removal_is_found() -> None:
    old = build_schema("type Query { a: Int b: Int }")
    new = build_schema("type Query { a: Int }")

    assert unlisted_breaking_changes(old, new, {"Query.a"}) == ["Field Query.b was removed."]
    assert unlisted_breaking_changes(old, new, {"Query.b"}) == []
