"""Input types whose fields are all scalars or enums, built without per-field conversion.

Strawberry turns an argument's input value into its class field by field: for each field it
derives the GraphQL name, resolves the annotation and walks its conversion rules, for each
of an attempt's fields, on every request. For a scalar or an enum (optional or not) every
rule ends in "keep the value": graphql-core has already coerced it. ``plain_fields`` gives
such a type Strawberry's documented ``from_input`` hook, which builds it from the value
directly, with the names worked out once.
"""

from collections.abc import Mapping
from dataclasses import MISSING
from typing import Any, TypeVar

from strawberry.scalars import is_scalar
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
    get_object_definition,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition

T = TypeVar("T", bound=type)


def plain_fields(cls: T) -> T:
    """Build the input type ``cls`` (after ``@strawberry.input``) from its value as it is.

    Its first conversion raises TypeError if a field is not a scalar or an enum.
    """
    definition = get_object_definition(cls, strict=True)
    fields_by_converter: dict[int, tuple[Any, list[tuple[str, str]], dict[str, None]]] = {}

    def from_input(target: type, value: Mapping[str, Any], context: InputContext) -> Any:
        converter = context.config.name_converter
        found = fields_by_converter.get(id(converter))
        if found is None:
            names, nulls = _plan(definition, context)
            # The converter is kept with its plan, so its id stays its own.
            found = fields_by_converter[id(converter)] = (converter, names, nulls)
        _, names, nulls = found
        # As Strawberry does: an omitted field without a default is None.
        kwargs: dict[str, Any] = dict(nulls)
        for graphql_name, python_name in names:
            if graphql_name in value:
                kwargs[python_name] = value[graphql_name]
        return target(**kwargs)

    definition.from_input = from_input
    return cls


def _plan(
    definition: StrawberryObjectDefinition, context: InputContext
) -> tuple[list[tuple[str, str]], dict[str, None]]:
    names = []
    for field in definition.fields:
        field_type = field.resolve_type(type_definition=definition)
        # A Maybe field's value is wrapped (Some) by Strawberry: not a plain copy.
        if isinstance(field_type, StrawberryOptional) and not isinstance(
            field_type, StrawberryMaybe
        ):
            field_type = field_type.of_type
        if not (
            is_scalar(field_type, context.scalar_registry)
            or isinstance(field_type, StrawberryEnumDefinition)
            or has_enum_definition(field_type)
        ):
            raise TypeError(
                f"{definition.name}.{field.python_name} is not a scalar or an enum:"
                " plain_fields would skip its conversion"
            )
        names.append((context.config.name_converter.from_field(field), field.python_name))
    nulls = {
        field.python_name: None
        for field in definition.fields
        if field.default_value is MISSING and field.default_factory is MISSING
    }
    return names, nulls
