"""The two sides compared: the floor (one SQL statement) and the API (GraphQL over HTTP)."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

import loadgen
import page_dataset
import page_floor
import page_graphql
from gql import settings

Opener = Callable[[], Awaitable[loadgen.PageClient]]


@dataclass(frozen=True)
class Side:
    """Opens clients of one side; every client asks for the same learners' pages."""

    open_client: Opener
    learners: list[uuid.UUID]

    async def run(self, clients: int, duration: float, cpu: loadgen.CpuMeter) -> loadgen.RunStats:
        return await loadgen.measure(
            self.open_client,
            clients=clients,
            users=self.learners,
            duration=duration,
            expected_tasks=page_dataset.TOTAL_TASKS,
            cpu=cpu,
        )

    async def fetch_one(self, user_id: uuid.UUID) -> Any:
        client = await self.open_client()
        try:
            return orjson.loads(await client.fetch(user_id))
        finally:
            await client.close()


def floor_and_api(
    database_url: str, dataset: page_dataset.Dataset, base_url: str
) -> tuple[Side, Side]:
    # Tokens come from the same environment the server reads, so they share its key.
    headers = page_graphql.learner_headers(settings.Settings(), dataset.learners)

    async def open_floor() -> loadgen.PageClient:
        return await page_floor.FloorClient.connect(database_url, dataset.course_id)

    async def open_api() -> loadgen.PageClient:
        return page_graphql.GraphQLClient(base_url, dataset.course_id, headers)

    return Side(open_floor, dataset.learners), Side(open_api, dataset.learners)


async def first_difference(floor: Side, api: Side) -> str | None:
    """Where the two sides' pages for the first learner differ; None if they are the same."""
    user_id = floor.learners[0]
    return _difference(await floor.fetch_one(user_id), await api.fetch_one(user_id), "")


def _difference(a: Any, b: Any, path: str) -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return f"{path or '/'}: keys {list(a)} vs {list(b)}"
        found = (_difference(a[key], b[key], f"{path}/{key}") for key in a)
        return next((difference for difference in found if difference), None)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        pairs = enumerate(zip(a, b, strict=True))
        found = (_difference(x, y, f"{path}/{i}") for i, (x, y) in pairs)
        return next((difference for difference in found if difference), None)
    # 50 and 50.0 are the same JSON number: values are compared, not their spelling.
    return None if a == b else f"{path}: {a!r} vs {b!r}"
