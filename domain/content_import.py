"""Write a validated content document: upsert by key, move what moved, retire what vanished.

A file is authoritative for the courses it holds: inside them, a section, theme or task left
out is retired (kept, inactive, hidden). A course left out is not touched (content may come
from several files); a course entry with ``retired: true`` retires it with its whole tree.
Learners whose section or course the change completes get its awards in the same
transaction (domain.content_awards).

One bulk statement per entity kind. Each batch travels as ONE jsonb parameter unpacked by
``jsonb_to_recordset``, so the statement and its parameter count do not grow with the
course, and parents are found by key in SQL rather than by a round trip for their ids.
Rows are only rewritten when a value differs, so importing the same file again changes no
row and wakes no trigger's recount.
"""

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    ARRAY,
    Boolean,
    Integer,
    Select,
    SmallInteger,
    Table,
    Text,
    all_,
    any_,
    column,
    exists,
    func,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.type_api import TypeEngine

from db import content_change_queries, models
from domain import badge_admin, content_awards
from domain.content_document import ContentDocument, task_grading
from domain.errors import ContentImportError, InvalidBadgeRule

COURSE = models.Base.metadata.tables["course"]
SECTION = models.Base.metadata.tables["section"]
THEME = models.Base.metadata.tables["theme"]
TASK = models.Base.metadata.tables["task"]
BADGE = models.Base.metadata.tables["badge"]
RULE = models.Base.metadata.tables["badge_rule"]


@dataclass(frozen=True)
class Changes:
    """How many rows of one kind an import created, updated (incl. moved) and deactivated."""

    created: int = 0
    updated: int = 0
    deactivated: int = 0


@dataclass(frozen=True)
class ImportResult:
    """What an import changed, per kind (retired sections and themes count as deactivated,
    a course retired or brought back as updated), and the badges the change awarded."""

    courses: Changes
    sections: Changes
    themes: Changes
    tasks: Changes
    badges: Changes
    rules: Changes
    awards: int = 0

    @property
    def changed(self) -> bool:
        """Whether the import changed any row."""
        return any(getattr(self, f.name) != Changes() for f in fields(self) if f.name != "awards")

    def summary(self) -> str:
        """One line saying what was created, updated and deactivated, per kind."""
        parts = []
        kinds = [f.name for f in fields(self) if f.name != "awards"]
        for action in ("created", "updated", "deactivated"):
            counts = [
                _plural(getattr(getattr(self, kind), action), kind)
                for kind in kinds
                if getattr(getattr(self, kind), action)
            ]
            if counts:
                parts.append(f"{action} {', '.join(counts)}")
        if self.awards:
            parts.append(f"awarded {_plural(self.awards, 'badges')}")
        return "; ".join(parts) if parts else "no changes"


def _plural(count: int, kind: str) -> str:
    noun = "badge rules" if kind == "rules" else kind
    return f"{count} {noun if count != 1 else noun[:-1]}"


async def import_content(
    conn: AsyncConnection, *, document: ContentDocument, now: datetime | None = None
) -> ImportResult:
    """Upsert the document's content by key on ``conn``; the caller commits or rolls back.

    The change is dated ``now`` (the transaction's time if None): a task whose type or
    content changed gets a new answer key from then (attempts made before it are graded by
    the old one), and badges the change completes are awarded then.
    """
    rows = _Rows(document)
    await _place_courses(conn, rows.courses)
    watch = await content_awards.watch(
        conn, courses=[row["key"] for row in rows.courses], nodes=rows.node_keys(), now=now
    )
    courses = await _upsert(
        conn,
        COURSE,
        rows.courses,
        {
            "title": Text,
            "description": Text,
            "order_index": Integer,
            "queue_policy": JSONB,
            "completion": Text,
            "active": Boolean,
        },
    )
    sections = await _upsert(
        conn,
        SECTION,
        rows.sections,
        {"title": Text, "order_index": Integer, "active": Boolean},
        parent=(COURSE, "course_id"),
    )
    themes = await _upsert(
        conn,
        THEME,
        rows.themes,
        {"title": Text, "order_index": Integer, "active": Boolean},
        parent=(SECTION, "section_id"),
    )
    tasks = await _upsert(
        conn,
        TASK,
        rows.tasks,
        {
            "title": Text,
            "type": Text,
            "content": JSONB,
            "difficulty": SmallInteger,
            "active": Boolean,
            "order_index": Integer,
            "grading": Text,
            "reveal_after_failures": Integer,
        },
        parent=(THEME, "theme_id"),
    )
    await content_change_queries.record_answer_keys(conn, [row["key"] for row in rows.tasks], now)
    badges = await _upsert(
        conn,
        BADGE,
        rows.badges,
        {"name": Text, "description": Text, "media": JSONB, "active": Boolean},
    )
    await _resolve_rule_references(conn, rows.rules)
    rules = await _upsert(
        conn,
        RULE,
        rows.rules,
        {"type": Text, "criteria": JSONB, "scope_key": Text, "active": Boolean},
        parent=(BADGE, "badge_id"),
    )
    retired_sections, retired_themes = await _retire_missing(conn, rows)
    deactivated_tasks = await _deactivate_missing_tasks(conn, rows)
    deactivated_rules = await _deactivate_missing_rules(conn, rows)
    await content_change_queries.rules_owe_from(conn, [row["key"] for row in rows.rules], now)
    awarded = await content_awards.award_completed(conn, watch)
    return ImportResult(
        courses=courses,
        sections=Changes(sections.created, sections.updated, retired_sections),
        themes=Changes(themes.created, themes.updated, retired_themes),
        tasks=Changes(tasks.created, tasks.updated, deactivated_tasks),
        badges=badges,
        rules=Changes(rules.created, rules.updated, deactivated_rules),
        awards=awarded,
    )


async def _place_courses(conn: AsyncConnection, courses: list[dict[str, Any]]) -> None:
    # A course without `order` keeps its stored place, or a new one goes after every
    # stored course (in file order): courses from several files do not all get 0.
    if all(row["order_index"] is not None for row in courses):
        return
    stored: dict[str, int] = {
        key: order
        for key, order in (await conn.execute(select(COURSE.c.key, COURSE.c.order_index))).all()
    }
    after = max(stored.values(), default=-1) + 1
    for row in courses:
        if row["order_index"] is None:
            row["order_index"] = stored.get(row["key"])
        if row["order_index"] is None:
            row["order_index"] = min(after, 2**31 - 1)
            after += 1


async def _retire_missing(conn: AsyncConnection, rows: "_Rows") -> tuple[int, int]:
    # The sections and themes of the courses in the file that the file no longer holds;
    # one statement for both (their updates touch different tables).
    if not rows.courses:
        return 0, 0
    courses_in_file = select(COURSE.c.id).where(COURSE.c.key == any_(_keys(rows.courses)))
    sections = (
        update(SECTION)
        .where(SECTION.c.active)
        .where(SECTION.c.course_id.in_(courses_in_file))
        .where(SECTION.c.key != all_(_keys(rows.sections)))
        .values(active=False)
        .returning(SECTION.c.id)
        .cte("retired_sections")
    )
    themes = (
        update(THEME)
        .where(THEME.c.active)
        .where(
            THEME.c.section_id.in_(
                select(SECTION.c.id).where(SECTION.c.course_id.in_(courses_in_file))
            )
        )
        .where(THEME.c.key != all_(_keys(rows.themes)))
        .values(active=False)
        .returning(THEME.c.id)
        .cte("retired_themes")
    )
    counts = select(
        select(func.count()).select_from(sections).scalar_subquery(),
        select(func.count()).select_from(themes).scalar_subquery(),
    )
    retired_sections, retired_themes = (await conn.execute(counts)).one()
    return int(retired_sections), int(retired_themes)


async def _resolve_rule_references(conn: AsyncConnection, rules: list[dict[str, Any]]) -> None:
    # Content keys in criteria become ids once the content of this file is in place.
    problems = []
    for rule in rules:
        try:
            rule["criteria"], rule["scope_key"] = await badge_admin.resolve_criteria(
                conn, rule["type"], rule["criteria"], path=rule.pop("path")
            )
        except InvalidBadgeRule as error:
            problems += error.problems
    if problems:
        shown = "; ".join(f"{p.path}: {p.message}" for p in problems)
        raise ContentImportError(f"invalid badge rules, nothing was written: {shown}", problems)


class _Rows:
    """The document flattened into one list of rows per table; parents named by key."""

    def __init__(self, document: ContentDocument) -> None:
        self.courses: list[dict[str, Any]] = []
        self.sections: list[dict[str, Any]] = []
        self.themes: list[dict[str, Any]] = []
        self.tasks: list[dict[str, Any]] = []
        self.badges: list[dict[str, Any]] = []
        self.rules: list[dict[str, Any]] = []
        for course in document.courses:
            row = _row(course, 0)
            row["order_index"] = course.order  # None: placed by _place_courses
            active = row["active"] = not row.pop("retired")
            self.courses.append(row)
            # A retired course's whole tree is inactive, whatever the file says of it.
            for s, section in enumerate(course.sections):
                self.sections.append({**_row(section, s, parent_key=course.key), "active": active})
                for t, theme in enumerate(section.themes):
                    self.themes.append({**_row(theme, t, parent_key=section.key), "active": active})
                    for k, task in enumerate(theme.tasks):
                        task_row = _row(task, k, parent_key=theme.key)
                        task_row["active"] = task_row["active"] and active
                        task_row["grading"] = task_grading(course, task)
                        task_row["reveal_after_failures"] = course.reveal_after_failures
                        self.tasks.append(task_row)
        for b, badge in enumerate(document.badges):
            self.badges.append(_row(badge, b))
            for r, rule in enumerate(badge.rules):
                self.rules.append(
                    {**_row(rule, r, parent_key=badge.key), "path": f"badges[{b}].rules[{r}]."}
                )

    def node_keys(self) -> dict[str, list[str]]:
        """The keys of the sections, themes and tasks in the file, by table."""
        return {
            "section": [row["key"] for row in self.sections],
            "theme": [row["key"] for row in self.themes],
            "task": [row["key"] for row in self.tasks],
        }


_CHILDREN = {"sections", "themes", "tasks", "rules"}


def _row(entry: BaseModel, position: int, *, parent_key: str | None = None) -> dict[str, Any]:
    # The entry's field names are the column names, except `order` (order_index, defaulting
    # to the position in the file) and the children, which get rows of their own.
    row = entry.model_dump(exclude=_CHILDREN)
    if "order" in row:
        order = row.pop("order")
        row["order_index"] = position if order is None else order
    if parent_key is not None:
        row["parent_key"] = parent_key
    return row


async def _upsert(
    conn: AsyncConnection,
    table: Table,
    rows: list[dict[str, Any]],
    values: dict[str, TypeEngine[Any] | type[TypeEngine[Any]]],
    *,
    parent: tuple[Table, str] | None = None,
) -> Changes:
    if not rows:
        return Changes()
    shape = {"key": Text, **({"parent_key": Text} if parent else {}), **values}
    incoming = (
        func.jsonb_to_recordset(literal(rows, JSONB))
        .table_valued(*(column(name, type_) for name, type_ in shape.items()))
        .render_derived(name="incoming", with_types=True)
    )
    columns = [*([parent[1]] if parent else []), *values]
    source: Select[Any]
    if parent:
        parent_table = parent[0]
        source = select(
            incoming.c.key, parent_table.c.id, *(incoming.c[name] for name in values)
        ).join_from(incoming, parent_table, parent_table.c.key == incoming.c.parent_key)
    else:
        source = select(incoming.c.key, *(incoming.c[name] for name in values))

    statement = insert(table).from_select(["key", *columns], source)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={name: statement.excluded[name] for name in columns},
        where=tuple_(*(table.c[name] for name in columns)).is_distinct_from(
            tuple_(*(statement.excluded[name] for name in columns))
        ),
    )
    written = statement.returning(table.c.key).cte("written")
    # Every part of one statement reads the same snapshot, taken before the insert, so a
    # written key already visible in the table was an update and any other key is new.
    existed: ColumnElement[bool] = exists().where(table.c.key == written.c.key)
    counts = select(
        func.count().filter(~existed).label("created"),
        func.count().filter(existed).label("updated"),
    ).select_from(written)
    created, updated = (await conn.execute(counts)).one()
    return Changes(created=created, updated=updated)


async def _deactivate_missing_tasks(conn: AsyncConnection, rows: _Rows) -> int:
    if not rows.courses:
        return 0
    courses_in_file = select(COURSE.c.id).where(COURSE.c.key == any_(_keys(rows.courses)))
    themes_of_those = (
        select(THEME.c.id)
        .join(SECTION, SECTION.c.id == THEME.c.section_id)
        .where(SECTION.c.course_id.in_(courses_in_file))
    )
    statement = (
        update(TASK)
        .where(TASK.c.active)
        .where(TASK.c.theme_id.in_(themes_of_those))
        .where(TASK.c.key != all_(_keys(rows.tasks)))
        .values(active=False)
    )
    return (await conn.execute(statement)).rowcount


async def _deactivate_missing_rules(conn: AsyncConnection, rows: _Rows) -> int:
    if not rows.badges:
        return 0
    badges_in_file = select(BADGE.c.id).where(BADGE.c.key == any_(_keys(rows.badges)))
    statement = (
        update(RULE)
        .where(RULE.c.active)
        .where(RULE.c.badge_id.in_(badges_in_file))
        .where(RULE.c.key != all_(_keys(rows.rules)))
        .values(active=False)
    )
    return (await conn.execute(statement)).rowcount


def _keys(rows: list[dict[str, Any]]) -> ColumnElement[list[str]]:
    return literal([row["key"] for row in rows], ARRAY(Text))
