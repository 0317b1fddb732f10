"""Every field and argument of schema.graphql is exercised by some test operation that got
its answer without an error (tests/field_coverage.py). conftest.py runs this test last."""

from tests import field_coverage


def test_every_field_and_argument_is_exercised_without_error() -> None:
    assert field_coverage.EXERCISED, "no operation was recorded: run it with the whole suite"

    missing = field_coverage.unexercised()

    assert missing == [], "no test operation exercises these:\n" + "\n".join(missing)


def test_a_selection_on_an_interface_counts_for_the_interface_alone() -> None:
    before = set(field_coverage.EXERCISED)
    try:
        field_coverage.EXERCISED.clear()
        field_coverage.record(
            "query($id: ID!) { node(id: $id) { id ... on Course { key } } }",
            {"data": {"node": None}},
        )
        field_coverage.record("{ courses { nodes { title } } }", {"errors": [{}], "data": None})

        assert field_coverage.EXERCISED == {
            "Query.node",
            "Query.node(id:)",
            "Node.id",
            "Course.key",
        }
    finally:
        field_coverage.EXERCISED.clear()
        field_coverage.EXERCISED.update(before)
