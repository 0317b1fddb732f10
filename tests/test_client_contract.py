"""The API as client libraries meet it: ids, nullability and introspection.

Apollo, Relay, urql, codegen and GraphiQL only ever see the SDL and the wire: these tests
look at the server the same way.
"""

import uuid

from graphql import (
    GraphQLSchema,
    build_client_schema,
    build_schema,
    get_introspection_query,
    lexicographic_sort_schema,
    print_schema,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from gql.ids import to_global_id
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
    fields = "id key name description media active rules { id key type criteria active }"

    catalog = await client.execute(f"{{ badges {{ {fields} }} }}")
    badge = catalog["data"]["badges"][0]
    rule = badge["rules"][0]
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
