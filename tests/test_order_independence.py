"""Order independence, proven by a model (issue 19): a hypothesis state machine over the real
stack interleaves attempts (live, batched, late and out of order, solved and failed, replays),
content changes by re-import (add, deactivate, drop, move across themes, sections and
courses), badge rules created or (de)activated without backfill, time-zone changes, clock
steps and backfills. After every step:

(a) derived state: progress, activity, streaks and totals equal a recompute (``check_users``);
    enrollments exist for the courses the learner attempted, are COMPLETED exactly as the
    course's completion policy says, and progress exists only where the learner is enrolled;
(b) awards equal a badge backfill from scratch (run in a transaction that is rolled back),
    with the same dates. "From scratch" has history: a badge stays awarded once earned (a
    later content change may take the completion away, not the badge), an award a content
    change gave is dated at that change, and a rule created or activated without backfill
    owes nothing for what was earned before it existed, until a backfill runs;
(s) streaks: local days never run backwards in event time (a time-zone change cannot give a
    day back), attempts older than the offline grace period neither extend nor repair a
    streak; streak rules and their progress read the current streak: a live solve that
    leaves it at N or more holds every active N-day streak rule (added without backfill or
    not), and nothing needing an N-day streak is awarded at a shorter one;
(q) the queue: a retry counts from the failure's ``occurredAt``, and a failure dated before a
    solve reopens nothing.

Hypothesis drives examples synchronously, so (as in tests/test_attempts_model.py) the
machine runs on this module's own event loop, against its own database, with a clock that
only the steps move; every id is fixed, so an example runs the same way every time.

Extending it for what issue 19 adds: retiring a theme, section or course by import is one
more ``change_content`` kind that leaves the node out of ``_document`` (and passes the
import's switch, if the fix chose one) and counts its tasks as inactive in
``_check_enrollments``; streak freezes add their frozen days in ``streak_days``; a paused
course is a rule calling pauseCourse/resumeCourse and a check that reserveTasks serves none
of its tasks; revoked awards are a rule calling revokeAward and a set of (user, badge,
context) that ``_check_awards`` expects neither live nor from a backfill.
"""

import asyncio
import inspect
import os
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import engine as db_engine
from db import migrate
from db.engine import Database
from domain import badge_backfill, content_document, content_import, recompute, retry_policy
from domain import streaks as streak_math
from gql.app import create_app
from gql.ids import to_global_id
from gql.settings import Settings
from tests.attempt_helpers import SUBMIT, SUBMIT_MANY, attempt_input
from tests.clock import Clock
from tests.graphql_client import GraphQLClient

START = datetime(2026, 12, 7, 15, 5, tzinfo=UTC)  # Tokyo: 12-08 00:05, Los Angeles: 12-07 07:05
# Inside the offline window the server accepts (30 days), the grace period after occurredAt
# within which an attempt may still extend or repair a streak (issue 19's default).
STREAK_GRACE = timedelta(hours=72)
LIVE = timedelta(minutes=2)  # a "live" attempt occurred at most this long before the server saw it
# Zones 26 hours apart, and the pair from the issue (Tokyo 12-08 vs Los Angeles 12-07).
ZONES = ["Asia/Tokyo", "America/Los_Angeles", "Pacific/Kiritimati", "Etc/GMT+12"]
USERS = 1  # one learner: collisions in their history are the point; more only dilute it
# The suite's fixed budget; ORDER_MODEL_EXAMPLES=200 searches deeper (still derandomized).
EXAMPLES = int(os.environ.get("ORDER_MODEL_EXAMPLES", "30"))
IDS = uuid.UUID("5f1c8a52-3d0e-4b7a-9a51-0c2f3e4d5a6b")  # namespace of the model's fixed ids
# The groups of checks; ORDER_MODEL_CHECKS=awards,queue runs only those (default: all), so
# that a fix of one part of issue 19 can be watched while the other parts are still open.
ALL_CHECKS = ("recompute", "enrollments", "days", "streaks", "streak_rules", "progress")
ALL_CHECKS += ("queue", "awards")
CHECKS = frozenset(os.environ.get("ORDER_MODEL_CHECKS", ",".join(ALL_CHECKS)).split(","))
assert CHECKS <= set(ALL_CHECKS), f"ORDER_MODEL_CHECKS: known checks are {', '.join(ALL_CHECKS)}"

# The learner's days before the start: none, a streak alive at the start, broken, and one
# alive but shorter than the best.
HISTORIES = ["", "x", "xx", "xxx", "xx.", "x.x", "xx.x", "xxx."]

# course -> section -> themes; tasks move freely between the themes, across sections and
# courses. Small on purpose: collisions (a section completed, a task moved out of a
# completed course, two attempts on one day) are the point.
SHAPE = {"om-a": {"om-a/s1": ["om-a/s1/x", "om-a/s1/y"]}, "om-b": {"om-b/s1": ["om-b/s1/x"]}}
THEMES = [theme for sections in SHAPE.values() for ts in sections.values() for theme in ts]
COURSE_OF = {
    theme: course
    for course, sections in SHAPE.items()
    for themes in sections.values()
    for theme in themes
}
TASKS = [f"om/k{i}" for i in range(6)]
FIRST_PLACEMENT = {"om/k0": THEMES[0], "om/k1": THEMES[0], "om/k2": THEMES[1], "om/k3": THEMES[2]}
# A content change that completes something awards it dated at the change (issue 19): the
# model's clock is that time, if the import is told the time.
IMPORT_TAKES_NOW = "now" in inspect.signature(content_import.import_content).parameters
# Set when the content file can say so (issue 19: `completion: live | sticky` per course).
COMPLETION_IN_FILE = "completion" in content_document.CourseEntry.model_fields
COMPLETION = {"om-a": "live", "om-b": "sticky"} if COMPLETION_IN_FILE else {}


@dataclass(frozen=True)
class RuleSpec:
    type: str
    criteria: dict[str, Any]
    streak_days: int = 0  # the streak the rule needs (directly or through a child), 0: none


STREAK_2 = {"type": "streak", "criteria": {"days": 2}}
# Badges the content file carries from the start: their rules are active before any attempt.
STANDING = {
    "om-section": RuleSpec("section_completed", {}),
    "om-course": RuleSpec("course_completed", {}),
    "om-streak2": RuleSpec("streak", {"days": 2}, 2),
    "om-streak3": RuleSpec("streak", {"days": 3}, 3),
    "om-combo": RuleSpec(
        "all_of",
        {"rules": [STREAK_2, {"type": "course_completed", "criteria": {"courseKey": "om-b"}}]},
        2,
    ),
}
# Rules an admin adds later, through the API, without backfill.
CATALOG = [
    RuleSpec("streak", {"days": 2}, 2),
    RuleSpec("streak", {"days": 3}, 3),
    RuleSpec("section_completed", {"sectionKey": "om-a/s1"}),
    RuleSpec("course_completed", {"courseKey": "om-b"}),
    RuleSpec(
        "all_of",
        {"rules": [STREAK_2, {"type": "section_completed", "criteria": {"sectionKey": "om-a/s1"}}]},
        2,
    ),
]

CREATE_BADGE = """mutation($input: CreateBadgeInput!) { createBadge(input: $input) {
  __typename ... on BadgeSuccess { badge { id } } } }"""
CREATE_RULE = """mutation($input: CreateBadgeRuleInput!) { createBadgeRule(input: $input) {
  __typename ... on BadgeRuleSuccess { rule { id } } } }"""
SET_RULE_ACTIVE = """mutation($id: ID!, $active: Boolean!) {
  setBadgeRuleActive(id: $id, active: $active) { __typename } }"""
SET_ZONE = """mutation($zone: String) { updateViewer(input: {timezone: $zone}) {
  __typename ... on UpdateViewerSuccess { viewer { timezone } } } }"""
PROGRESS = """query { viewer { streak { current longest } }
  badges(first: 50) { nodes { key ruleProgress { ruleType earned current target } } } }"""


@dataclass
class LateRule:
    badge_key: str
    spec: RuleSpec
    rule_id: uuid.UUID
    active: bool
    activated_at: datetime  # the last activation
    created_at: datetime
    # A backfill ran since the last activation: the rule owes what was earned before it too.
    covered: bool = False


@dataclass
class Learner:
    id: uuid.UUID
    zone: str = "UTC"
    enrolled: set[str] = field(default_factory=set)  # course keys attempted (while there)
    ever_complete: set[str] = field(default_factory=set)


class OrderMachine(RuleBasedStateMachine):
    loop: asyncio.AbstractEventLoop
    engine: AsyncEngine
    client: GraphQLClient
    clock: Clock

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    # --- setup -------------------------------------------------------------------------

    @initialize(history=st.sampled_from(HISTORIES))
    def start(self, history: str) -> None:
        """Fresh tables, the content file, and a past: ``history`` has a character per day
        before the start, "x" where the learner solved a task that day (live), "." where
        not."""
        self.clock.now = START - timedelta(days=len(history))
        # Fixed ids: an example runs the same way every time (shrinking replays it).
        self.learners = [Learner(uuid.uuid5(IDS, f"learner-{i}")) for i in range(USERS)]
        self.admin = self.client.token(uuid.uuid5(IDS, "admin"), admin=True)
        self.serial = 0
        # task key -> theme key (None: not in the file yet); active flag; still in the file
        self.place: dict[str, str | None] = {key: FIRST_PLACEMENT.get(key) for key in TASKS}
        self.active = {key: key in FIRST_PLACEMENT for key in TASKS}
        self.in_file = {key: key in FIRST_PLACEMENT for key in TASKS}
        self.sent: list[tuple[uuid.UUID, dict[str, Any]]] = []  # (user, input) accepted
        self.late: dict[str, LateRule] = {}
        self.change_times: list[datetime] = []
        # (user, badge key, context) -> every awarded_at a from-scratch backfill ever gave
        self.ever: dict[tuple[uuid.UUID, str, str], set[datetime]] = defaultdict(set)

        async def reset() -> None:
            async with self.engine.begin() as conn:
                tables = await conn.execute(
                    text(
                        "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables"
                        " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                    )
                )
                await conn.execute(text(f"TRUNCATE {tables.scalar_one()} CASCADE"))

        self.run(reset())
        self._import()
        # The pair: at the start, Tokyo is on 12-08 and Los Angeles on 12-07.
        for learner, zone in zip(self.learners, ZONES, strict=False):
            self._set_zone(learner, zone)
        for day, mark in enumerate(history):
            if mark == "x":
                self._submit_one(self.learners[0], TASKS[day], True, timedelta(seconds=30))
            self.clock.now = START - timedelta(days=len(history) - day - 1)

    # --- helpers -----------------------------------------------------------------------

    def _tick(self, seconds: int = 1) -> None:
        """Every step happens at its own instant: processing order is time order."""
        self.clock.now += timedelta(seconds=seconds)

    def _document(self) -> dict[str, Any]:
        courses = []
        for c, (course, sections) in enumerate(SHAPE.items()):
            entry: dict[str, Any] = {"key": course, "title": course, "order": c, "sections": []}
            if course in COMPLETION:
                entry["completion"] = COMPLETION[course]
            for section, themes in sections.items():
                section_entry: dict[str, Any] = {"key": section, "title": section, "themes": []}
                for theme in themes:
                    tasks = [
                        {"key": key, "title": key, "type": "text", "active": self.active[key]}
                        for key in TASKS
                        if self.in_file[key] and self.place[key] == theme
                    ]
                    section_entry["themes"].append({"key": theme, "title": theme, "tasks": tasks})
                entry["sections"].append(section_entry)
            courses.append(entry)
        badges = [
            {
                "key": key,
                "name": key,
                "rules": [{"key": f"{key}/rule", "type": spec.type, "criteria": spec.criteria}],
            }
            for key, spec in STANDING.items()
        ]
        return {"courses": courses, "badges": badges}

    def _import(self) -> None:
        """Re-import the whole content file, as `learntrack import` does."""
        document = content_document.parse_document(self._document())
        now = self.clock.now

        async def go() -> dict[str, uuid.UUID]:
            async with self.engine.begin() as conn:
                at = {"now": now} if IMPORT_TAKES_NOW else {}
                await content_import.import_content(conn, document=document, **at)
            async with self.engine.connect() as conn:
                rows = await conn.execute(text("SELECT key, id FROM task"))
                return {row.key: row.id for row in rows}

        self.task_ids = self.run(go())
        self.change_times.append(self.clock.now)

    async def _gql(
        self, query: str, variables: dict[str, Any], *, user: uuid.UUID | None = None
    ) -> dict[str, Any]:
        token = self.admin if user is None else None
        body = await self.client.execute(query, variables, user=user, token=token)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    def _set_zone(self, learner: Learner, zone: str) -> None:
        data = self.run(self._gql(SET_ZONE, {"zone": zone}, user=learner.id))
        assert data["updateViewer"]["__typename"] == "UpdateViewerSuccess", data
        learner.zone = zone

    def _new_ids(self, count: int) -> list[uuid.UUID]:
        """Fresh attempt ids, in increasing order; later calls give greater ids."""
        self.serial += 1
        return [uuid.UUID(int=(self.serial << 32) | i) for i in range(count)]

    def _input(
        self, task: str, *, solved: bool, occurred_at: datetime, attempt_id: uuid.UUID
    ) -> dict[str, Any]:
        task_id = self.task_ids.get(task, uuid.uuid5(IDS, task))
        return attempt_input(
            task_id, solved=solved, occurred_at=occurred_at, attempt_id=attempt_id, source="MOBILE"
        )

    def _expect_accepted(self, task: str) -> bool:
        return self.place[task] is not None and self.active[task]

    def _accepted(self, learner: Learner, task: str, sent: dict[str, Any]) -> None:
        self.sent.append((learner.id, sent))
        place = self.place[task]
        assert place is not None
        learner.enrolled.add(COURSE_OF[place])

    def _streak_rules(self) -> dict[str, int]:
        """Badge key -> streak days, for every active rule that needs a streak."""
        found = {key: spec.streak_days for key, spec in STANDING.items() if spec.streak_days}
        found.update(
            {
                key: r.spec.streak_days
                for key, r in self.late.items()
                if r.active and r.spec.streak_days
            }
        )
        return found

    def _spec(self, badge_key: str) -> RuleSpec:
        return STANDING[badge_key] if badge_key in STANDING else self.late[badge_key].spec

    def _held(self, learner: Learner) -> set[str]:
        async def go() -> set[str]:
            async with self.engine.connect() as conn:
                rows = await conn.execute(
                    text(
                        "SELECT b.key FROM user_badge ub JOIN badge b ON b.id = ub.badge_id"
                        " WHERE ub.user_id = :u"
                    ),
                    {"u": learner.id},
                )
                return set(rows.scalars())

        return self.run(go())

    # --- attempts ----------------------------------------------------------------------

    def _submit_one(self, learner: Learner, task: str, solved: bool, ago: timedelta) -> None:
        self._tick()
        (attempt_id,) = self._new_ids(1)
        sent = self._input(
            task, solved=solved, occurred_at=self.clock.now - ago, attempt_id=attempt_id
        )
        body = self.run(self.client.execute(SUBMIT, {"input": sent}, user=learner.id))
        result = body["data"]["submitAttempt"]
        if not self._expect_accepted(task):
            assert result["__typename"] == "SubmitAttemptError", result
            assert result["code"] in ("TASK_INACTIVE", "TASK_NOT_FOUND"), result
            return
        assert result["__typename"] == "SubmitAttemptSuccess", result
        self._accepted(learner, task, sent)
        if ago > LIVE or not solved or "streak_rules" not in CHECKS:
            return
        # A live solve: the streak rules read the streak it leaves (issue 19, defect 2).
        current = result["streak"]["current"]
        needs = self._streak_rules()
        for badge in result["newBadges"]:
            days = needs.get(badge["key"], 0)
            assert current >= days, (
                f"{badge['key']} (needs a {days}-day streak) awarded at a current streak of"
                f" {current}"
            )
        held = self._held(learner)
        owed = sorted(
            key
            for key, days in needs.items()
            if current >= days and key not in held and self._spec(key).type == "streak"
        )
        assert not owed, f"current streak {current}, yet no award of {owed}"

    @rule(user=st.integers(0, USERS - 1), task=st.sampled_from(TASKS), solved=st.booleans())
    def submit_live(self, user: int, task: str, solved: bool) -> None:
        self._submit_one(self.learners[user], task, solved, timedelta(seconds=30))

    @rule(
        user=st.integers(0, USERS - 1),
        task=st.sampled_from(TASKS),
        solved=st.booleans(),
        # Inside the grace period and beyond it, up to the end of the offline window.
        hours_ago=st.sampled_from([2, 20, 30, 50, 80, 100, 150, 24 * 29]),
    )
    def submit_late(self, user: int, task: str, solved: bool, hours_ago: int) -> None:
        self._submit_one(self.learners[user], task, solved, timedelta(hours=hours_ago))

    @rule(
        user=st.integers(0, USERS - 1),
        items=st.lists(
            st.tuples(st.sampled_from(TASKS), st.booleans(), st.integers(0, 60 * 30)),
            min_size=2,
            max_size=4,
        ),
        ranks=st.permutations(range(4)),
    )
    def submit_batch(self, user: int, items: list[tuple[str, bool, int]], ranks: list[int]) -> None:
        """An offline sync: one submitAttempts, its items in the order given (and out of
        occurredAt order when the minutes say so); ``ranks`` orders their ids."""
        self._tick()
        learner = self.learners[user]
        # The items share the time they were received; ``ranks`` orders their ids.
        ids = self._new_ids(len(ranks))
        sent = [
            self._input(
                task,
                solved=solved,
                occurred_at=self.clock.now - timedelta(minutes=m),
                attempt_id=ids[rank],
            )
            for (task, solved, m), rank in zip(items, ranks, strict=False)
        ]
        body = self.run(self.client.execute(SUBMIT_MANY, {"inputs": sent}, user=learner.id))
        for (task, _, _), one, result in zip(
            items, sent, body["data"]["submitAttempts"], strict=True
        ):
            if self._expect_accepted(task):
                assert result["__typename"] == "SubmitAttemptSuccess", result
                self._accepted(learner, task, one)
            else:
                assert result["__typename"] == "SubmitAttemptError", result

    @precondition(lambda self: bool(self.sent))
    @rule(pick=st.integers(0, 10_000))
    def replay(self, pick: int) -> None:
        """The same attempt again (a client retrying): answered, counted nothing."""
        self._tick()
        user, sent = self.sent[pick % len(self.sent)]
        body = self.run(self.client.execute(SUBMIT, {"input": sent}, user=user))
        result = body["data"]["submitAttempt"]
        assert result["__typename"] == "SubmitAttemptSuccess", result
        assert result["replayed"] is True, result

    # --- clock and learners ------------------------------------------------------------

    @rule(hours=st.sampled_from([1, 5, 11, 23, 24, 25, 49]))
    def advance_clock(self, hours: int) -> None:
        self.clock.now += timedelta(hours=hours)

    @rule(user=st.integers(0, USERS - 1), zone=st.sampled_from(ZONES))
    def change_zone(self, user: int, zone: str) -> None:
        self._tick()
        self._set_zone(self.learners[user], zone)

    # --- content -----------------------------------------------------------------------

    @rule(
        change=st.sampled_from(["add", "deactivate", "reactivate", "drop", "move"]),
        task=st.sampled_from(TASKS),
        theme=st.sampled_from(THEMES),
    )
    def change_content(self, change: str, task: str, theme: str) -> None:
        """Re-import the content file with one change: a task added (or a dropped one back)
        in ``theme``, (de)activated, dropped from the file (retired: inactive, kept) or moved
        to ``theme`` (another theme, section or course). A change that does not apply to the
        task's state is no step."""
        placed, active, listed = self.place[task], self.active[task], self.in_file[task]
        if change == "add" and not listed:
            self.place[task], self.active[task], self.in_file[task] = theme, True, True
        elif change == "deactivate" and listed and active:
            self.active[task] = False
        elif change == "reactivate" and listed and not active:
            self.active[task] = True
        elif change == "drop" and listed:
            self.in_file[task], self.active[task] = False, False
        elif change == "move" and listed and placed != theme:
            self.place[task] = theme
        else:
            return
        self._tick()
        self._import()

    # --- badge rules and backfills -----------------------------------------------------

    @rule(pick=st.integers(0, len(CATALOG) - 1))
    def create_rule(self, pick: int) -> None:
        """An admin adds a badge with one rule, without backfill."""
        self._tick()
        key = f"om-late{len(self.late)}"
        spec = CATALOG[pick]
        data = self.run(self._gql(CREATE_BADGE, {"input": {"key": key, "name": key}}))
        badge_id = data["createBadge"]["badge"]["id"]
        rule_input = {"badgeId": badge_id, "key": f"{key}/rule", "type": spec.type}
        data = self.run(
            self._gql(CREATE_RULE, {"input": {**rule_input, "criteria": spec.criteria}})
        )
        assert data["createBadgeRule"]["__typename"] == "BadgeRuleSuccess", data

        async def rule_id() -> uuid.UUID:
            async with self.engine.connect() as conn:
                found = await conn.execute(
                    text("SELECT id FROM badge_rule WHERE key = :k"), {"k": f"{key}/rule"}
                )
                return uuid.UUID(str(found.scalar_one()))

        now = self.clock.now
        self.late[key] = LateRule(key, spec, self.run(rule_id()), True, now, now)

    @precondition(lambda self: bool(self.late))
    @rule(pick=st.integers(0, 100))
    def toggle_rule(self, pick: int) -> None:
        """Deactivate or activate an added rule, without backfill."""
        self._tick()
        late = list(self.late.values())[pick % len(self.late)]
        variables = {"id": to_global_id("BadgeRule", late.rule_id), "active": not late.active}
        data = self.run(self._gql(SET_RULE_ACTIVE, variables))
        assert data["setBadgeRuleActive"]["__typename"] == "BadgeRuleSuccess", data
        late.active = not late.active
        if late.active:
            late.activated_at, late.covered = self.clock.now, False

    @rule()
    def backfill(self) -> None:
        """`learntrack badges backfill`: every learner, every active rule, committed."""
        self._tick()

        async def go() -> None:
            async with Database(self.engine).transaction() as conn:
                users = await badge_backfill.list_learners(conn)
                await badge_backfill.backfill_users(
                    conn, user_ids=users, rule_ids=None, dry_run=False
                )

        self.run(go())
        for late in self.late.values():
            late.covered = late.covered or late.active

    # --- invariants --------------------------------------------------------------------

    def _facts(self) -> dict[str, Any]:
        """Everything the invariants read, in one read-only transaction (and the from-scratch
        backfill in another, rolled back)."""

        async def go() -> dict[str, Any]:
            users = [learner.id for learner in self.learners]
            found: dict[str, Any] = {}
            async with Database(self.engine).rolled_back() as conn:
                found["drift"] = [
                    d.describe()
                    for d in await recompute.check_users(
                        conn, user_ids=await recompute.list_users(conn)
                    )
                ]
            async with self.engine.connect() as conn:

                async def rows(sql: str) -> list[Any]:
                    return list((await conn.execute(text(sql), {"u": users})).all())

                found["attempts"] = await rows(
                    "SELECT a.user_id, a.task_id, a.solved, a.occurred_at, a.created_at,"
                    " a.local_day FROM user_task_attempt a WHERE a.user_id = ANY(:u)"
                    " ORDER BY a.occurred_at, a.created_at"
                )
                found["enrollments"] = await rows(
                    "SELECT e.user_id, c.key, e.status, e.completed_at"
                    " FROM user_course_enrollment e JOIN course c ON c.id = e.course_id"
                    " WHERE e.user_id = ANY(:u)"
                )
                found["progress"] = await rows(
                    "SELECT p.user_id, c.key FROM user_course_progress p"
                    " JOIN course c ON c.id = p.course_id WHERE p.user_id = ANY(:u)"
                    " UNION SELECT p.user_id, c.key FROM user_section_progress p"
                    " JOIN course c ON c.id = p.course_id WHERE p.user_id = ANY(:u)"
                )
                found["solved"] = await rows(
                    "SELECT s.user_id, t.key FROM user_task_state s JOIN task t ON t.id = s.task_id"
                    " WHERE s.user_id = ANY(:u) AND s.status = 'solved'"
                )
                found["streaks"] = await rows(
                    "SELECT user_id, current, longest, last_active_day FROM user_streak"
                    " WHERE user_id = ANY(:u)"
                )
                found["queue"] = await rows(
                    "SELECT q.user_id, q.task_id, q.due_at, t.key FROM user_task_queue q"
                    " JOIN task t ON t.id = q.task_id"
                    " WHERE q.user_id = ANY(:u) AND q.state = 'queued' AND q.reason = 'retry'"
                )
                found["live"] = await _awards(conn, users)
            async with Database(self.engine).rolled_back() as conn:
                await conn.execute(
                    text("DELETE FROM user_badge WHERE user_id = ANY(:u)"), {"u": users}
                )
                learners = await badge_backfill.list_learners(conn)
                await badge_backfill.backfill_users(
                    conn, user_ids=learners, rule_ids=None, dry_run=False
                )
                found["scratch"] = await _awards(conn, users)
            return found

        return self.run(go())

    @invariant()
    def order_independent(self) -> None:
        if not hasattr(self, "task_ids"):
            return
        facts = self._facts()
        if "recompute" in CHECKS:
            # progress, activity, streaks and totals equal a recompute from the attempts
            assert facts["drift"] == [], facts["drift"]
        if "enrollments" in CHECKS:
            self._check_enrollments(facts)
        self._check_streaks(facts)
        if "queue" in CHECKS:
            self._check_queue(facts)
        if "awards" in CHECKS:
            self._check_awards(facts)
        if "progress" in CHECKS:
            self._check_badge_progress()

    def _check_enrollments(self, facts: dict[str, Any]) -> None:
        solved = {(row.user_id, row.key) for row in facts["solved"]}
        enrollments = {(row.user_id, row.key): row for row in facts["enrollments"]}
        for learner in self.learners:
            mine = {course for (user, course) in enrollments if user == learner.id}
            # An attempt enrolls; a content change (a task moved in) does not.
            assert mine == learner.enrolled, (mine, learner.enrolled)
            for course in learner.enrolled:
                tasks = [
                    key
                    for key in TASKS
                    if self.active[key] and self.place[key] and COURSE_OF[self.place[key]] == course
                ]
                if not tasks:
                    continue  # a course without active tasks: neither policy says
                complete = all((learner.id, key) in solved for key in tasks)
                if complete:
                    learner.ever_complete.add(course)
                policy = COMPLETION.get(course, "live")
                expected = complete or (policy == "sticky" and course in learner.ever_complete)
                row = enrollments[(learner.id, course)]
                assert (row.status == "completed") == expected, (
                    f"{course} ({policy}) is {row.status} with"
                    f" {sum((learner.id, k) in solved for k in tasks)}/{len(tasks)} active tasks"
                    " solved"
                )
                assert (row.completed_at is not None) == expected, row
        progress = {(row.user_id, row.key) for row in facts["progress"]}
        stray = progress - set(enrollments)
        assert not stray, f"progress in courses the learner is not enrolled in: {stray}"

    def _check_streaks(self, facts: dict[str, Any]) -> None:
        by_user: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for row in facts["attempts"]:
            by_user[row.user_id].append(row)
        stored = {row.user_id: row for row in facts["streaks"]}
        for learner in self.learners:
            attempts = by_user[learner.id]  # in occurredAt order
            # A later attempt never lands on an earlier local day than an earlier one.
            for before, after in zip(attempts, attempts[1:], strict=False):
                assert "days" not in CHECKS or after.local_day >= before.local_day, (
                    f"{after.occurred_at:%m-%d %H:%M:%S}Z counted on {after.local_day}, after"
                    f" {before.occurred_at:%m-%d %H:%M:%S}Z counted on {before.local_day}"
                )
            expected = streak_math.from_days(streak_days(attempts))
            row = stored.get(learner.id)
            got = (row.current, row.longest, row.last_active_day) if row else (0, 0, None)
            want = (expected.run, expected.longest, expected.last_active_day)
            assert "streaks" not in CHECKS or got == want, (
                f"streak (run, longest, last day) {got}, expected {want}"
            )

    def _check_queue(self, facts: dict[str, Any]) -> None:
        ladder = retry_policy.RetryLadder()
        history: dict[tuple[uuid.UUID, uuid.UUID], list[Any]] = defaultdict(list)
        for row in facts["attempts"]:
            history[(row.user_id, row.task_id)].append(row)
        for entry in facts["queue"]:
            attempts = history[(entry.user_id, entry.task_id)]
            last = attempts[-1]  # the latest by occurredAt
            assert not last.solved, (
                f"{entry.key}: a retry is queued though the latest attempt (by occurredAt) is a"
                " solve"
            )
            waits = {ladder.delay(n) for n in range(1, ladder.max_retries + 1)}
            assert entry.due_at - last.occurred_at in waits, (
                f"{entry.key}: retry due {entry.due_at - last.occurred_at} after the failure's"
                f" occurredAt (the ladder's waits: {sorted(w for w in waits if w)})"
            )

    def _check_awards(self, facts: dict[str, Any]) -> None:
        live: dict[tuple[uuid.UUID, str, str], Any] = facts["live"]
        scratch: dict[tuple[uuid.UUID, str, str], Any] = facts["scratch"]
        received = {(row.user_id, row.occurred_at): row.created_at for row in facts["attempts"]}
        for key, award in scratch.items():
            self.ever[key].add(award.awarded_at)
        for key, award in scratch.items():
            late = self.late.get(key[1])
            if late and not late.covered and award.created_at < late.activated_at:
                continue  # earned before the rule existed: owed only by a backfill
            assert key in live, (
                f"missing award {_name(key)} that a backfill gives at {award.awarded_at}"
            )
            assert self._dated_right(key, live[key], received), (
                f"{_name(key)} awarded at {live[key].awarded_at}; a backfill from scratch gives"
                f" {award.awarded_at}"
            )
        for key, award in live.items():
            assert key in self.ever, f"award {_name(key)} at {award.awarded_at} no backfill gives"
            assert self._dated_right(key, award, received), (
                f"{_name(key)} awarded at {award.awarded_at}, never a backfill's date"
            )

    def _dated_right(
        self,
        key: tuple[uuid.UUID, str, str],
        award: Any,
        received: dict[tuple[uuid.UUID, datetime], datetime],
    ) -> bool:
        """Whether a live award's date is one a from-scratch backfill gives (now or before a
        content change took the completion away), that of the content change that gave it,
        or, for a rule added without backfill, that of the first evaluation after it was
        added (an attempt or a content change) of what was earned before."""
        if award.awarded_at in self.ever[key] or self._by_change(award):
            return True
        late = self.late.get(key[1])
        if late is None:
            return False
        at = received.get((key[0], award.awarded_at))
        return at is not None and at >= late.created_at

    def _by_change(self, award: Any) -> bool:
        """Given by a content change, dated at it."""
        return award.attempt_id is None and award.awarded_at in self.change_times

    def _check_badge_progress(self) -> None:
        for learner in self.learners:
            data = self.run(self._gql(PROGRESS, {}, user=learner.id))
            current = data["viewer"]["streak"]["current"]
            for badge in data["badges"]["nodes"]:
                for progress in badge["ruleProgress"] or ():
                    if progress["ruleType"] != "streak" or progress["earned"]:
                        continue
                    assert progress["current"] == min(current, progress["target"]), (
                        f"{badge['key']}: progress {progress['current']}/{progress['target']}"
                        f" with a current streak of {current}"
                    )


def streak_days(attempts: list[Any]) -> list[date]:
    """The local days a streak counts: those with a solve that arrived within the grace
    period. (Frozen days join here once freezes exist.)"""
    return [
        a.local_day for a in attempts if a.solved and a.created_at - a.occurred_at <= STREAK_GRACE
    ]


async def _awards(
    conn: AsyncConnection, users: list[uuid.UUID]
) -> dict[tuple[uuid.UUID, str, str], Any]:
    rows = await conn.execute(
        text(
            "SELECT ub.user_id, b.key, ub.context_key, ub.awarded_at, ub.attempt_id,"
            " coalesce(a.created_at, ub.created_at) AS created_at"
            " FROM user_badge ub JOIN badge b ON b.id = ub.badge_id"
            " LEFT JOIN user_task_attempt a ON a.user_id = ub.user_id AND a.id = ub.attempt_id"
            " WHERE ub.user_id = ANY(:u)"
        ),
        {"u": users},
    )
    return {(row.user_id, row.key, row.context_key): row for row in rows}


def _name(key: tuple[uuid.UUID, str, str]) -> str:
    user, badge, context = key
    return f"{badge}[{context or 'learner'}] of {str(user)[:8]}"


def test_progress_streaks_and_awards_do_not_depend_on_the_order_of_events(make_database) -> None:  # type: ignore[no-untyped-def]
    url = make_database()
    migrate.upgrade(url)
    loop = asyncio.new_event_loop()
    engine = db_engine.create_engine(url, pool_size=2)
    clock = Clock(START)
    app_settings = Settings(database_url=url, env="development")
    app = create_app(app_settings, Database(engine), clock)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    OrderMachine.loop = loop
    OrderMachine.engine = engine
    OrderMachine.client = GraphQLClient(http, app_settings)
    OrderMachine.clock = clock
    try:
        run_state_machine_as_test(
            OrderMachine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=30,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        loop.run_until_complete(http.aclose())
        loop.run_until_complete(engine.dispose())
        loop.close()
