"""The API as client libraries meet it: ids, nullability and introspection.

Apollo, Relay, urql, codegen and GraphiQL only ever see the SDL and the wire: these tests
look at the server the same way.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from graphql import (
    GraphQLOutputType,
    GraphQLSchema,
    build_client_schema,
    build_schema,
    get_introspection_query,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    lexicographic_sort_schema,
    parse,
    print_schema,
    validate,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from gql.ids import to_global_id
from tests.attempt_helpers import attempt_input
from tests.examples import all_examples, example
from tests.factories import CourseTree, make_course
from tests.graphql_client import GraphQLClient
from tests.test_badges import make_badge
from tests.test_schema_file import SCHEMA_FILE

FULL_INTROSPECTION = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
)


async def test_full_introspection_answers_and_rebuilds_the_committed_sdl(
    client: GraphQLClient,
) -> None:
    body = await client.execute(FULL_INTROSPECTION)

    assert "errors" not in body, body.get("errors")
    assert _sdl(build_client_schema(body["data"])) == _sdl(build_schema(SCHEMA_FILE.read_text()))


def _sdl(schema: GraphQLSchema) -> str:
    return print_schema(lexicographic_sort_schema(schema))


async def _course(engine: AsyncEngine) -> CourseTree:
    async with engine.begin() as conn:
        return await make_course(conn, sections=1, themes=1, tasks=2, key="contract")


MALFORMED_IDS = ["not base64 at all!", to_global_id("Task", uuid.uuid4()), "\u0000\uffff"]


async def test_malformed_ids_in_mutations_are_typed_errors_and_keep_sibling_fields(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    course = await _course(clean_db)
    operation = """mutation($id: ID!, $course: ID!, $attempt: UUID!, $at: DateTime!) {
      enroll(courseId: $id) { ... on EnrollmentError { code } }
      pauseCourse(courseId: $id) { ... on EnrollmentError { code } }
      reserveTasks(courseId: $id) { ... on ReserveTasksError { code } }
      scoped: reserveTasks(courseId: $course, sectionId: $id) {
        ... on ReserveTasksError { code }
      }
      submitAttempt(input: {id: $attempt, taskId: $id, tries: 1, timeSpentMs: 1, solved: true,
                            occurredAt: $at, source: WEB}) {
        ... on SubmitAttemptError { code }
      }
    }"""
    for malformed in MALFORMED_IDS:
        body = await client.execute(
            operation,
            {
                "id": malformed,
                "course": to_global_id("Course", course.course_id),
                "attempt": str(uuid.uuid4()),
                "at": "2026-12-01T10:00:00Z",
            },
            user=uuid.uuid4(),
        )

        assert "errors" not in body, body
        assert body["data"] == {
            "enroll": {"code": "COURSE_NOT_FOUND"},
            "pauseCourse": {"code": "NOT_ENROLLED"},
            "reserveTasks": {"code": "COURSE_NOT_FOUND"},
            "scoped": {"code": "SECTION_NOT_FOUND"},
            "submitAttempt": {"code": "TASK_NOT_FOUND"},
        }


async def test_malformed_id_in_a_query_field_errs_on_that_field_alone(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    course = await _course(clean_db)

    body = await client.execute(
        """query($bad: ID!, $good: ID!) {
          broken: course(id: $bad) { id }
          course(id: $good) { key }
          node(id: $bad) { id }
        }""",
        {"bad": "%%%", "good": to_global_id("Course", course.course_id)},
    )

    assert body["data"]["broken"] is None
    assert body["data"]["node"] is None
    assert body["data"]["course"] == {"key": "contract"}
    assert sorted(tuple(e["path"]) for e in body["errors"]) == [("broken",), ("node",)]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}


async def test_every_badge_and_rule_field_answers_and_refetches_through_node(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _course(clean_db)
    made = await make_badge(client, "streak", {"days": 3})
    fields = (
        "id key name description media active rules { nodes { id key ruleType criteria active } }"
    )

    catalog = await client.execute(f"{{ badges {{ nodes {{ {fields} }} }} }}")
    badge = catalog["data"]["badges"]["nodes"][0]
    rule = badge["rules"]["nodes"][0]
    refetched = await client.execute(
        f"""query($badge: ID!, $rule: ID!, $course: ID!, $missing: ID!) {{
          badge: node(id: $badge) {{ __typename ... on Badge {{ {fields} }} }}
          rule: node(id: $rule) {{ __typename ... on BadgeRule {{ id key }} }}
          nodes(ids: [$badge, $rule, $course, "%%%", $missing]) {{ __typename id }}
        }}""",
        {
            "badge": badge["id"],
            "rule": rule["id"],
            "course": to_global_id("Course", tree.course_id),
            "missing": to_global_id("Badge", uuid.uuid4()),
        },
    )

    assert "errors" not in catalog, catalog
    assert (badge["key"], badge["media"], rule["key"]) == (made["key"], {}, f"{made['key']}/rule")
    assert refetched["data"]["badge"] == {"__typename": "Badge", **badge}
    assert refetched["data"]["rule"] == {
        "__typename": "BadgeRule",
        "id": rule["id"],
        "key": rule["key"],
    }
    assert refetched["data"]["nodes"] == [
        {"__typename": "Badge", "id": badge["id"]},
        {"__typename": "BadgeRule", "id": rule["id"]},
        {"__typename": "Course", "id": to_global_id("Course", tree.course_id)},
        None,
        None,
    ]
    assert [(e["path"], e["extensions"]["code"]) for e in refetched["errors"]] == [
        (["nodes", 3], "BAD_USER_INPUT")
    ]


def _shape_conflicts(schema: GraphQLSchema) -> list[str]:
    """Fields of one name whose types two members of an abstract type cannot merge under
    graphql's OverlappingFieldsCanBeMerged: different list or null wrapping, or different
    leaf types. A fragment on ``Node`` (or a union) that selects both fails validation, and
    codegen drops the operation."""
    conflicts = []
    for abstract in schema.type_map.values():
        if not is_abstract_type(abstract) or abstract.name.startswith("__"):
            continue
        members = sorted(schema.get_possible_types(abstract), key=lambda t: t.name)
        for index, first in enumerate(members):
            for second in members[index + 1 :]:
                for name in sorted(first.fields.keys() & second.fields.keys()):
                    if not _same_shape(first.fields[name].type, second.fields[name].type):
                        conflicts.append(
                            f"{abstract.name}: {first.name}.{name} / {second.name}.{name}"
                        )
    return conflicts


def _same_shape(first: GraphQLOutputType, second: GraphQLOutputType) -> bool:
    if is_non_null_type(first) or is_non_null_type(second):
        return (
            is_non_null_type(first)
            and is_non_null_type(second)
            and _same_shape(first.of_type, second.of_type)  # type: ignore[union-attr]
        )
    if is_list_type(first) or is_list_type(second):
        return (
            is_list_type(first)
            and is_list_type(second)
            and _same_shape(first.of_type, second.of_type)  # type: ignore[union-attr]
        )
    if is_leaf_type(first) or is_leaf_type(second):
        return first is second
    return True  # two composite types: their own sub-selections are checked where they meet


def test_no_field_name_has_shapes_that_a_fragment_on_node_cannot_merge() -> None:
    schema = build_schema(SCHEMA_FILE.read_text())

    assert _shape_conflicts(schema) == []


def test_the_shape_check_finds_a_conflict() -> None:
    schema = build_schema(
        "interface Node { id: ID! } type A implements Node { id: ID! type: String }"
        " type B implements Node { id: ID! type: Int } type Query { node: Node }"
    )

    assert _shape_conflicts(schema) == ["Node: A.type / B.type"]


def test_every_example_operation_validates_against_the_schema() -> None:
    schema = build_schema(SCHEMA_FILE.read_text())

    found = {name: validate(schema, parse(text)) for name, text in all_examples().items()}

    assert len(found) >= 9
    assert {name: [e.message for e in errors] for name, errors in found.items() if errors} == {}


def _nodes_by_id(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every object with an id in a course page, by id (as a normalized cache keys them)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "id" in value:
                found[value["id"]] = value
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(page)
    return found


async def test_submit_attempt_returns_every_changed_node_as_a_fresh_page_shows_it(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _course(clean_db)
    user, course_id = uuid.uuid4(), to_global_id("Course", tree.course_id)
    task_id = to_global_id("Task", tree.task_ids[0])

    before = await client.execute(example("course_page"), {"id": course_id}, user=user)
    submitted = await client.execute(
        example("submit_attempt"), {"input": attempt_input(tree.task_ids[0])}, user=user
    )
    after = await client.execute(example("course_page"), {"id": course_id}, user=user)

    payload = submitted["data"]["submitAttempt"]
    assert "errors" not in submitted, submitted
    page = _nodes_by_id(after["data"])
    for name in ("task", "theme", "section", "course"):
        changed = payload[name]
        for field, value in changed.items():
            assert page[changed["id"]][field] == value, (name, field)
    assert page[task_id]["state"]["status"] == "SOLVED"
    assert _nodes_by_id(before["data"])[course_id]["progress"]["solvedTasks"] == 0
    assert page[course_id]["progress"]["solvedTasks"] == 1
    assert payload["viewer"]["streak"]["current"] == 1


async def test_a_second_mutation_in_one_document_reads_what_the_first_wrote(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _course(clean_db)
    first, second = (attempt_input(task) for task in tree.task_ids[:2])

    body = await client.execute(
        """mutation($first: SubmitAttemptInput!, $second: SubmitAttemptInput!) {
          first: submitAttempt(input: $first) {
            ... on SubmitAttemptSuccess { course { progress { solvedTasks } } }
          }
          second: submitAttempt(input: $second) {
            ... on SubmitAttemptSuccess { course { progress { solvedTasks } } }
          }
        }""",
        {"first": first, "second": second},
        user=uuid.uuid4(),
    )

    assert "errors" not in body, body
    assert body["data"]["first"]["course"]["progress"]["solvedTasks"] == 1
    assert body["data"]["second"]["course"]["progress"]["solvedTasks"] == 2


async def test_every_example_operation_runs_without_error(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _course(clean_db)
    await make_badge(client, "solved_total", {"tasks": 1})
    user, course_id = uuid.uuid4(), to_global_id("Course", tree.course_id)
    first, second = tree.task_ids
    today = datetime.now(UTC).date()

    async def run(name: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = await client.execute(example(name), variables, user=user)
        assert "errors" not in body, (name, body)
        data: dict[str, Any] = body["data"]
        return data

    reserved = await run("reserve_tasks", {"courseId": course_id, "limit": 2})
    leases = [r["leaseToken"] for r in reserved["reserveTasks"]["reservations"]]
    extended = await run("extend_reservation", {"leaseToken": leases[0], "seconds": 600})
    released = await run("release_reservation", {"leaseToken": leases[1]})
    submitted = await run("submit_attempt", {"input": attempt_input(first)})
    synced = await run("sync_attempts", {"inputs": [attempt_input(second, solved=False)]})
    page = await run("course_page", {"id": course_id})
    task = await run("task_page", {"id": to_global_id("Task", first)})
    failed = await run("task_page", {"id": to_global_id("Task", second)})
    catalog = await run("badge_catalog", {"first": 10})
    calendar = await run("activity_calendar", {"from": str(today), "to": str(today)})

    assert len(leases) == 2
    assert extended["extendReservation"]["__typename"] == "ExtendReservationSuccess"
    assert released["releaseReservation"]["__typename"] == "ReleaseReservationSuccess"
    assert submitted["submitAttempt"]["newBadges"][0]["name"]
    assert synced["submitAttempts"][0]["task"]["state"]["status"] == "IN_PROGRESS"
    assert page["course"]["progress"]["solvedTasks"] == 1
    assert task["node"]["state"]["status"] == "SOLVED"
    assert failed["node"]["state"]["status"] == "IN_PROGRESS"
    assert datetime.fromisoformat(failed["node"]["nextDueAt"]) > datetime.now(UTC)
    assert catalog["badges"]["nodes"][0]["ruleProgress"][0]["earned"] is True
    assert calendar["viewer"]["activity"] == [
        {"day": str(today), "attempts": 2, "solved": 1, "timeSpentMs": 2000.0, "frozen": False}
    ]


async def test_admin_badge_changes_and_the_records_they_leave_read_back(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _course(clean_db)
    made = await make_badge(client, "solved_total", {"tasks": 1})
    admin = client.token(uuid.uuid4(), admin=True)
    user = uuid.uuid4()
    solved = {**attempt_input(tree.task_ids[0]), "payload": {"answer": [2, 0], "note": "é"}}
    await client.execute(example("submit_attempt"), {"input": solved}, user=user)

    updated = await client.execute(
        """mutation($id: ID!, $input: UpdateBadgeInput!) { updateBadge(id: $id, input: $input) {
          ... on BadgeSuccess { badge { name active } } } }""",
        {"id": made["badge_id"], "input": {"name": "First solve", "active": True}},
        token=admin,
    )
    reactivated = await client.execute(
        """mutation($id: ID!) { setBadgeRuleActive(id: $id, active: true, backfill: true) {
          ... on BadgeRuleSuccess { rule { active } backfilledAwards } } }""",
        {"id": made["rule"]["id"]},
        token=admin,
    )
    records = await client.execute(
        """{ viewer {
          attempts { nodes { clientId createdAt payload } }
          badges { nodes { awardedAt attemptId badge { name } } }
        } }""",
        user=user,
    )

    assert updated["data"]["updateBadge"]["badge"] == {"name": "First solve", "active": True}
    assert reactivated["data"]["setBadgeRuleActive"] == {
        "rule": {"active": True},
        "backfilledAwards": 0,
    }
    (attempt,) = records["data"]["viewer"]["attempts"]["nodes"]
    (award,) = records["data"]["viewer"]["badges"]["nodes"]
    assert attempt["clientId"] == solved["id"] and attempt["createdAt"]
    assert attempt["payload"] == solved["payload"]
    assert award["attemptId"] == solved["id"] and award["badge"]["name"] == "First solve"


async def test_rule_criteria_and_award_contexts_name_nodes_by_global_id(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    tree = await _course(clean_db)
    section = to_global_id("Section", tree.section_ids[0])
    made = await make_badge(client, "section_completed", {"sectionId": section})
    user = uuid.uuid4()
    for task in tree.task_ids:
        await client.execute(example("submit_attempt"), {"input": attempt_input(task)}, user=user)

    body = await client.execute(
        """{ badges { nodes { rules { nodes { criteria } } } }
             viewer { badges { nodes { context } } } }""",
        user=user,
    )

    assert made["rule"]["criteria"] == {"sectionId": section}
    assert body["data"]["badges"]["nodes"][0]["rules"]["nodes"][0]["criteria"] == {
        "sectionId": section
    }
    assert body["data"]["viewer"]["badges"]["nodes"] == [{"context": {"sectionId": section}}]
