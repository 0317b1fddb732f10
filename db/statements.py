"""Parsed SQL statements, cached: SQLAlchemy parses a ``text()`` clause's parameters with a
regular expression on every construction, a visible share of an attempt's Python time."""

from functools import lru_cache

from sqlalchemy import TextClause, text


@lru_cache(maxsize=2048)
def statement(sql: str) -> TextClause:
    """The ``text()`` clause for ``sql``, built once per distinct string."""
    return text(sql)
