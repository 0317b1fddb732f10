"""The three sides compared: the floor, the domain layer and the HTTP API."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

import attempt_clients
import attempt_dataset
import attempt_floor
import loadgen
import page_graphql
from db import engine as db_engine
from gql import ids, settings


class AttemptClient(Protocol):
    async def submit(self) -> None: ...

    async def close(self) -> None: ...


Opener = Callable[[uuid.UUID], Awaitable[AttemptClient]]

# The machine is shared (test suites, other benchmarks): a run during which other
# processes used more than this many cores on average is measured again.
DISTURBED_CORES = 0.15
TRIES = 3


@dataclass(frozen=True)
class Side:
    """Opens one client per learner; ``users`` belong to this side alone."""

    name: str
    open_client: Opener
    users: Sequence[uuid.UUID]

    async def run(self, clients: int, duration: float, cpu: loadgen.CpuMeter) -> loadgen.RunStats:
        """One measured run; again (up to ``TRIES`` in all) while other processes disturb it.

        Keeps the least disturbed run. Disturbance is known only with a machine meter.
        """
        if clients > len(self.users):
            raise ValueError(f"{self.name}: {clients} clients but {len(self.users)} learners")
        best: loadgen.RunStats | None = None
        for _ in range(TRIES):
            waited = await loadgen.wait_until_quiet()
            if waited > 0.5:
                loadgen.say(f"{self.name}: waited {waited:.0f} s for other processes' CPU use")
            stats = await self._run_once(clients, duration, cpu)
            others = loadgen.others_cores(stats)
            if best is None or others < loadgen.others_cores(best):
                best = stats
            if not others > DISTURBED_CORES:  # NaN (no machine meter) counts as clean
                break
            loadgen.say(
                f"{self.name}: other processes took {others:.2f} cores during the run; again"
            )
        assert best is not None
        return best

    async def _run_once(
        self, clients: int, duration: float, cpu: loadgen.CpuMeter
    ) -> loadgen.RunStats:
        pool = [await self.open_client(user) for user in self.users[:clients]]
        try:
            # Untimed and concurrent, twice: every client's connection (and every pooled
            # connection of the engine or server behind it) is open and has its statements
            # prepared before the clock starts; a rejected attempt fails here.
            for _ in range(2):
                await asyncio.gather(*(client.submit() for client in pool))
            requests = [client.submit for client in pool]
            return await loadgen.closed_loops(requests, duration=duration, cpu=cpu)
        finally:
            for client in pool:
                await client.close()


def domain_engine(database_url: str) -> AsyncEngine:
    """An engine configured as the server configures its own (pool size, timeouts)."""
    config = settings.Settings()
    return db_engine.create_engine(
        database_url,
        pool_size=config.db_pool_size,
        statement_timeout_ms=config.statement_timeout_ms,
    )


def floor_side(
    database_url: str,
    tasks: Sequence[attempt_dataset.Placement],
    recordings: attempt_floor.Recordings,
    users: Sequence[uuid.UUID],
) -> Side:
    async def open_floor(user_id: uuid.UUID) -> AttemptClient:
        return await attempt_floor.FloorClient.connect(database_url, user_id, tasks, recordings)

    return Side("floor", open_floor, users)


def domain_side(
    engine: AsyncEngine,
    tasks: Sequence[attempt_dataset.Placement],
    users: Sequence[uuid.UUID],
    *,
    solved_share: float = attempt_dataset.SOLVED_SHARE,
    name: str = "domain",
) -> Side:
    policy = settings.Settings().attempt_policy

    async def open_domain(user_id: uuid.UUID) -> AttemptClient:
        return attempt_clients.DomainClient(engine, user_id, tasks, policy, solved_share)

    return Side(name, open_domain, users)


def http_side(
    base_url: str,
    tasks: Sequence[attempt_dataset.Placement],
    users: Sequence[uuid.UUID],
    *,
    solved_share: float = attempt_dataset.SOLVED_SHARE,
    name: str = "HTTP",
) -> Side:
    # Tokens come from the same environment the server reads, so they share its key.
    headers = page_graphql.learner_headers(settings.Settings(), list(users))
    global_ids = {task.task_id: ids.to_global_id("Task", task.task_id) for task in tasks}

    async def open_http(user_id: uuid.UUID) -> AttemptClient:
        return await attempt_clients.HttpClient.open(
            base_url,
            {**headers[user_id], "content-type": "application/json"},
            tasks,
            global_ids,
            solved_share,
        )

    return Side(name, open_http, users)
