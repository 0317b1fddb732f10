"""Keyset pagination: one page of a list in a fixed, unique order, read after or before a
position (the sort key of a row) from the start of the list or from its end.

A page reads one row more than it returns: that row says whether more follow in the reading
direction. SQL lists take their ``WHERE``/``ORDER BY``/``LIMIT`` tail from ``sql_tail``;
lists already in memory (a loader's rows) take the same page from ``window``.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

Row = TypeVar("Row")


@dataclass(frozen=True, slots=True)
class Page:
    """At most ``size`` rows strictly between ``after`` and ``before`` (sort-key tuples),
    the first ones or, with ``from_end``, the last ones."""

    size: int
    after: tuple[Any, ...] | None = None
    before: tuple[Any, ...] | None = None
    from_end: bool = False


def sql_tail(page: Page, columns: Sequence[str], *, descending: bool) -> tuple[str, dict[str, Any]]:
    """The conditions (each starting with `` AND``), ``ORDER BY`` and ``LIMIT`` that read
    ``page`` of a list ordered by ``columns`` (all ascending, or all ``descending``), and
    their parameters. The rows come in reading order: ``in_list_order`` puts them back."""
    key = f"({', '.join(columns)})"
    forward, backward = (">", "<") if not descending else ("<", ">")
    conditions, params = "", {"page_limit": page.size + 1}
    for name, position, operator in (
        ("after", page.after, forward),
        ("before", page.before, backward),
    ):
        if position is not None:
            names = [f"{name}_{index}" for index in range(len(position))]
            conditions += f" AND {key} {operator} ({', '.join(':' + n for n in names)})"
            params.update(zip(names, position, strict=True))
    reverse = page.from_end != descending
    order = ", ".join(f"{column} {'DESC' if reverse else 'ASC'}" for column in columns)
    return f"{conditions} ORDER BY {order} LIMIT :page_limit", params


def in_list_order(rows: Sequence[Row], page: Page) -> tuple[list[Row], bool]:
    """The page's rows in list order, and whether more follow in the reading direction."""
    more = len(rows) > page.size
    kept = list(rows[: page.size])
    if page.from_end:
        kept.reverse()
    return kept, more


def window(
    rows: Sequence[Row], page: Page, key: Callable[[Row], tuple[Any, ...]], *, descending: bool
) -> list[Row]:
    """``page`` of ``rows`` (a whole list, in list order), read as ``sql_tail`` reads it:
    in reading order, with the one row more."""

    def inside(row: Row) -> bool:
        position = key(row)
        after_ok = page.after is None or (
            position < page.after if descending else position > page.after
        )
        before_ok = page.before is None or (
            position > page.before if descending else position < page.before
        )
        return after_ok and before_ok

    chosen = [row for row in rows if inside(row)]
    reading = chosen[::-1] if page.from_end else chosen
    return reading[: page.size + 1]
