"""An attempt's payload holds the same value whether written in the document or sent in the
variables: an integer beyond 64 bits is the nearest double either way (as JSON parsers read
it), and a number beyond a double is a typed refusal of that attempt alone."""

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.attempt_helpers import SUBMIT_MANY, attempt_input
from tests.factories import make_course
from tests.graphql_client import GraphQLClient

BIG = 18446744073709551616  # 2**64: one past what orjson reads as an integer
NEGATIVE = -9223372036854775809  # -(2**63) - 1
AS_STORED = "18446744073709552000"  # the nearest double, as jsonb's numeric prints it

SUBMIT_VARIABLES = """mutation($input: SubmitAttemptInput!) { submitAttempt(input: $input) {
  __typename ... on SubmitAttemptSuccess { replayed } ... on SubmitAttemptError { code }
} }"""
RESULT = (
    "{ __typename ... on SubmitAttemptSuccess { replayed }"
    " ... on SubmitAttemptError { code message } }"
)


def _literal(attempt: dict[str, Any], payload: str) -> str:
    """The attempt as an inline input object, its payload written as ``payload``."""
    return (
        f'{{id: "{attempt["id"]}", taskId: "{attempt["taskId"]}", tries: {attempt["tries"]},'
        f" timeSpentMs: {attempt['timeSpentMs']}, solved: true,"
        f' occurredAt: "{attempt["occurredAt"]}", source: WEB, payload: {payload}}}'
    )


async def _task(engine: AsyncEngine) -> uuid.UUID:
    async with engine.begin() as conn:
        tree = await make_course(conn, sections=1, themes=1, tasks=1)
    task_id: uuid.UUID = tree.task_ids[0]
    return task_id


async def _payloads(engine: AsyncEngine, user: uuid.UUID) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT id, payload::text FROM user_task_attempt WHERE user_id = :u"),
            {"u": user},
        )
        return {str(row[0]): row[1] for row in rows}


async def test_a_big_integer_is_one_value_inline_and_in_variables(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    task = await _task(clean_db)
    user = uuid.uuid4()
    inline, variables = attempt_input(task), attempt_input(task)
    payload_text = f"{{n: {BIG}, m: [{NEGATIVE}]}}"
    payload = {"n": BIG, "m": [NEGATIVE]}

    written = await client.execute(
        f"mutation {{ submitAttempt(input: {_literal(inline, payload_text)}) {RESULT} }}",
        user=user,
    )
    sent = await client.execute(
        SUBMIT_VARIABLES, {"input": {**variables, "payload": payload}}, user=user
    )
    # The inline attempt again, now in the variables: the same content, so a replay.
    again = await client.execute(
        SUBMIT_VARIABLES, {"input": {**inline, "payload": payload}}, user=user
    )

    assert written["data"]["submitAttempt"] == {
        "__typename": "SubmitAttemptSuccess",
        "replayed": False,
    }, written
    assert sent["data"]["submitAttempt"]["__typename"] == "SubmitAttemptSuccess", sent
    assert again["data"]["submitAttempt"] == {
        "__typename": "SubmitAttemptSuccess",
        "replayed": True,
    }, again
    stored = await _payloads(clean_db, user)
    assert stored[inline["id"]] == stored[variables["id"]]
    assert AS_STORED in stored[inline["id"]]


async def test_a_batch_with_big_numbers_inline_sinks_nothing(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    task = await _task(clean_db)
    user = uuid.uuid4()
    items = [
        (attempt_input(task), "{note: 1}"),
        (attempt_input(task), f"{{n: {BIG}}}"),
        (attempt_input(task), "{n: 1" + "0" * 400 + "}"),  # beyond a double
        (attempt_input(task), "[1e400]"),  # a float literal that is infinite
        (attempt_input(task), f"[{NEGATIVE}, {{deep: [{BIG}]}}]"),
    ]
    inputs = ", ".join(_literal(attempt, payload) for attempt, payload in items)

    body = await client.execute(
        f"mutation {{ submitAttempts(inputs: [{inputs}]) {RESULT} }}", user=user
    )

    assert "errors" not in body, body
    results = body["data"]["submitAttempts"]
    assert [r.get("code") or r["__typename"] for r in results] == [
        "SubmitAttemptSuccess",
        "SubmitAttemptSuccess",
        "PAYLOAD_TOO_LARGE",
        "PAYLOAD_TOO_LARGE",
        "SubmitAttemptSuccess",
    ]
    assert set(await _payloads(clean_db, user)) == {items[i][0]["id"] for i in (0, 1, 4)}


async def test_the_same_big_integer_in_a_variables_batch_is_accepted(
    client: GraphQLClient, clean_db: AsyncEngine
) -> None:
    task = await _task(clean_db)
    user = uuid.uuid4()
    inputs = [attempt_input(task, payload={"n": BIG}), attempt_input(task, payload=[NEGATIVE])]

    body = await client.execute(SUBMIT_MANY, {"inputs": inputs}, user=user)

    assert [r["__typename"] for r in body["data"]["submitAttempts"]] == [
        "SubmitAttemptSuccess",
        "SubmitAttemptSuccess",
    ], body
    assert AS_STORED in (await _payloads(clean_db, user))[inputs[0]["id"]]
