"""Closed-loop load: N clients, each sending its next request as soon as the last returns."""

import asyncio
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import orjson
import psutil


class PageClient(Protocol):
    async def fetch(self, user_id: uuid.UUID) -> str | bytes: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class RunStats:
    clients: int
    requests: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_s: dict[str, float]  # CPU time used during the run, by process group

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def count_tasks(document: str | bytes) -> int:
    """Raise unless the page has data and no errors; return how many tasks it holds."""
    body = orjson.loads(document)
    if body.get("errors"):
        raise RuntimeError(f"the page has errors: {body['errors'][:3]}")
    course = body["data"]["course"]
    return sum(len(theme["tasks"]) for section in course["sections"] for theme in section["themes"])


class CpuMeter:
    """CPU seconds (user + system) used by named processes.

    ``trees`` count children too (a server's workers, PostgreSQL's backends); ``single``
    processes do not (the benchmark itself, whose children include the server).
    """

    def __init__(self, trees: dict[str, int | None], single: dict[str, int] | None = None) -> None:
        self.trees = {name: psutil.Process(pid) for name, pid in trees.items() if pid is not None}
        self.single = {name: psutil.Process(pid) for name, pid in (single or {}).items()}

    def sample(self) -> dict[str, float]:
        used = {name: _tree_cpu(process) for name, process in self.trees.items()}
        for name, process in self.single.items():
            times = process.cpu_times()
            used[name] = times.user + times.system
        return used


def _tree_cpu(process: psutil.Process) -> float:
    # children_* hold the CPU of children that exited and were reaped (PostgreSQL backends
    # that closed), so the sum only grows, whatever connections come and go during a run.
    total = 0.0
    for member in (process, *process.children(recursive=True)):
        try:
            times = member.cpu_times()
        except psutil.NoSuchProcess:
            continue  # exited between listing and reading; its parent counts it when reaped
        total += times.user + times.system + times.children_user + times.children_system
    return total


async def measure(
    connect: Callable[[], Awaitable[PageClient]],
    *,
    clients: int,
    users: Sequence[uuid.UUID],
    duration: float,
    expected_tasks: int,
    cpu: CpuMeter,
) -> RunStats:
    """Run ``clients`` closed loops for ``duration`` seconds, rotating over ``users``."""
    pool = [await connect() for _ in range(clients)]
    try:
        # Untimed first request per client: checks the answer and warms its connection.
        for index, client in enumerate(pool):
            found = count_tasks(await client.fetch(users[index % len(users)]))
            if found != expected_tasks:
                raise RuntimeError(f"expected {expected_tasks} tasks, the page has {found}")
        before = cpu.sample()
        started = time.perf_counter()
        deadline = started + duration
        loops = (
            _client_loop(client, users, index, clients, deadline)
            for index, client in enumerate(pool)
        )
        results = await asyncio.gather(*loops)
        finished = time.perf_counter()
        after = cpu.sample()
    finally:
        for client in pool:
            await client.close()
    latencies = sorted(latency for run in results for latency in run)
    seconds = finished - started
    return RunStats(
        clients=clients,
        requests=len(latencies),
        seconds=round(seconds, 3),
        requests_per_s=round(len(latencies) / seconds, 2),
        p50_ms=_percentile_ms(latencies, 0.50),
        p99_ms=_percentile_ms(latencies, 0.99),
        cpu_s={name: round(after[name] - before[name], 3) for name in after},
    )


async def _client_loop(
    client: PageClient, users: Sequence[uuid.UUID], first: int, stride: int, deadline: float
) -> list[float]:
    # Clients start on different users and step by the client count, so concurrent
    # requests are for different learners, as in production.
    latencies: list[float] = []
    index = first
    while (start := time.perf_counter()) < deadline:
        await client.fetch(users[index % len(users)])
        latencies.append(time.perf_counter() - start)
        index += stride
    return latencies


def _percentile_ms(sorted_seconds: list[float], share: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not sorted_seconds:
        return float("nan")
    rank = max(0, math.ceil(share * len(sorted_seconds)) - 1)
    return round(sorted_seconds[rank] * 1000, 2)
