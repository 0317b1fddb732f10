"""An input built by ``plain_fields`` is exactly what Strawberry's own conversion builds."""

import uuid
from datetime import datetime
from enum import Enum

import pytest
import strawberry
from strawberry.scalars import JSON

from gql.plain_inputs import plain_fields


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


def _input_type(plain: bool) -> type:
    @strawberry.input
    class Sample:
        id: uuid.UUID
        task_id: strawberry.ID
        count: int
        at: datetime
        colour: Colour
        maybe_colour: Colour | None
        no_default: int | None
        data: JSON | None = None
        token: uuid.UUID | None = None
        label: str = "fallback"

    return plain_fields(Sample) if plain else Sample


def _schema(plain: bool) -> strawberry.Schema:
    sample = _input_type(plain)

    @strawberry.type
    class Query:
        @strawberry.field
        def echo(self, value: sample) -> str:  # type: ignore[valid-type]
            return repr(sorted(vars(value).items()))

    return strawberry.Schema(query=Query)


QUERY = "query($v: Sample!) { echo(value: $v) }"
ALL = {
    "id": "6f1c5f2e-9c53-4f0e-8f7f-1f2d3c4b5a69",
    "taskId": "VGFzazox",
    "count": 3,
    "at": "2026-11-26T01:02:03.456+05:30",
    "colour": "RED",
    "maybeColour": "BLUE",
    "noDefault": 7,
    "data": {"answer": [1, "two", None]},
    "token": "0b7e9d6c-2f4a-4c1e-9a3b-5d6e7f8a9b0c",
    "label": "given",
}
REQUIRED = {key: ALL[key] for key in ("id", "taskId", "count", "at", "colour")}
NULLS = {**REQUIRED, "maybeColour": None, "noDefault": None, "data": None, "token": None}


@pytest.mark.parametrize("value", [ALL, REQUIRED, NULLS], ids=["all", "required", "nulls"])
async def test_plain_fields_build_what_strawberry_builds(value: dict[str, object]) -> None:
    expected = await _schema(plain=False).execute(QUERY, variable_values={"v": value})
    actual = await _schema(plain=True).execute(QUERY, variable_values={"v": value})

    assert expected.errors is None
    assert actual.errors is None
    assert actual.data == expected.data


@strawberry.input
class Inner:
    name: str


@pytest.mark.parametrize("kind", ["input object", "maybe"])
async def test_a_field_that_needs_converting_is_refused(kind: str) -> None:
    if kind == "input object":

        @plain_fields
        @strawberry.input
        class Outer:
            inner: Inner

        document = '{ echo(value: { inner: { name: "x" } }) }'
        field = "Outer.inner"
    else:

        @plain_fields
        @strawberry.input
        class Outer:  # type: ignore[no-redef]
            inner: strawberry.Maybe[int]

        document = "{ echo(value: { inner: 1 }) }"
        field = "Outer.inner"

    @strawberry.type
    class Query:
        @strawberry.field
        def echo(self, value: Outer) -> str:
            return "never"

    result = await strawberry.Schema(query=Query).execute(document)

    assert result.errors is not None
    assert f"{field} is not a scalar or an enum" in str(result.errors[0].original_error)
