"""The schema's DateTime reads what Strawberry's reads, to the same instant, and refuses
what it refuses with the same message."""

from typing import Any

import pytest
from graphql import GraphQLError, GraphQLScalarType
from strawberry.schema.types.base_scalars import DateTimeDefinition

from gql.schema import build_schema
from gql.settings import Settings

ACCEPTED = [
    "2026-11-26T03:05:14Z",
    "2026-11-26T03:05:14.123456+05:30",
    "2026-11-26T03:05:14+0530",
    "2026-11-26T03:05:14-00",
    "2026-11-26T03:05:14,5Z",
    "2026-11-26T03:05:14.1234567Z",
    "20261126T030514Z",
    "2026-11-26 03:05",
    "2026-W48-4T10:00",
    "2026-11-26T03",
    # Read by dateutil only: the fallback keeps them.
    "2026-11-26T24:00:00Z",
    "2026-11",
]
REFUSED: list[Any] = ["x", "", "2026-13-01T00:00:00Z", "2026-11-26T03:05:14+25:00", 17, None]


@pytest.fixture(scope="module")
def date_time() -> GraphQLScalarType:
    scalar = build_schema(Settings())._schema.type_map["DateTime"]
    assert isinstance(scalar, GraphQLScalarType)
    return scalar


@pytest.mark.parametrize("value", ACCEPTED)
def test_reads_what_strawberry_reads(date_time: GraphQLScalarType, value: str) -> None:
    ours, theirs = date_time.parse_value(value), DateTimeDefinition.parse_value(value)
    assert ours == theirs
    assert (ours.tzinfo is None) == (theirs.tzinfo is None)
    assert ours.utcoffset() == theirs.utcoffset()


@pytest.mark.parametrize("value", REFUSED)
def test_refuses_what_strawberry_refuses(date_time: GraphQLScalarType, value: Any) -> None:
    with pytest.raises(Exception) as ours:
        date_time.parse_value(value)
    with pytest.raises(Exception) as theirs:
        DateTimeDefinition.parse_value(value)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)
    assert isinstance(ours.value, (GraphQLError, ValueError))


def test_the_schema_keeps_strawberrys_name_and_serialisation(date_time: GraphQLScalarType) -> None:
    assert date_time.name == DateTimeDefinition.name
    assert date_time.specified_by_url is not None and "rfc3339" in date_time.specified_by_url
    assert date_time.serialize is DateTimeDefinition.serialize
    assert date_time.parse_value is not DateTimeDefinition.parse_value
