"""schema.graphql is the exported SDL; a stale file fails the suite."""

from pathlib import Path

from gql.schema import build_schema
from gql.settings import Settings

BUILT_IN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"} | {
    "DateTime",
    "Date",
    "JSON",
    "UUID",
}
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_graphql_matches_the_code() -> None:
    exported = build_schema(Settings()).as_str() + "\n"

    assert SCHEMA_FILE.read_text() == exported, (
        "schema.graphql is stale: run `learntrack schema > schema.graphql`"
    )


def test_every_type_and_field_has_a_description_ending_in_a_dot() -> None:
    schema = build_schema(Settings())._schema
    missing = []
    for name, type_ in schema.type_map.items():
        if name.startswith("__") or name in BUILT_IN_SCALARS:
            continue
        if not (type_.description or "").endswith("."):
            missing.append(name)
        for field_name, field in getattr(type_, "fields", {}).items():
            if not (field.description or "").endswith("."):
                missing.append(f"{name}.{field_name}")
            for arg_name, arg in getattr(field, "args", {}).items():
                if not (arg.description or "").endswith("."):
                    missing.append(f"{name}.{field_name}({arg_name})")
    assert missing == []
