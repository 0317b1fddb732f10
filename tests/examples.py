"""The operations in docs/examples/: the one copy README, tests, benchmarks and the client
tests share."""

from functools import cache
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


@cache
def example(name: str) -> str:
    """The text of docs/examples/``name``.graphql."""
    return (EXAMPLES / f"{name}.graphql").read_text()


def all_examples() -> dict[str, str]:
    return {path.stem: path.read_text() for path in sorted(EXAMPLES.glob("*.graphql"))}
