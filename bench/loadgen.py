"""Closed-loop load: N clients, each sending its next request as soon as the last returns."""

import asyncio
import math
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import orjson
import psutil

# One request of one client: awaited, timed, and awaited again until the run ends.
Request = Callable[[], Awaitable[object]]


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


MACHINE = "machine"  # every process on every CPU; minus the named groups: everyone else


class CpuMeter:
    """CPU seconds (user + system) used by named processes.

    ``trees`` count children too (a server's workers, PostgreSQL's backends); ``single``
    processes do not (the benchmark itself, whose children include the server). With
    ``machine``, the whole machine's busy time too, so a run can tell what other
    processes took from it.
    """

    def __init__(
        self,
        trees: dict[str, int | None],
        single: dict[str, int] | None = None,
        *,
        machine: bool = False,
    ) -> None:
        self.trees = {name: psutil.Process(pid) for name, pid in trees.items() if pid is not None}
        self.single = {name: psutil.Process(pid) for name, pid in (single or {}).items()}
        self.machine = machine

    def sample(self) -> dict[str, float]:
        used = {name: _tree_cpu(process) for name, process in self.trees.items()}
        for name, process in self.single.items():
            times = process.cpu_times()
            used[name] = times.user + times.system
        if self.machine:
            used[MACHINE] = machine_busy_s()
        return used


def machine_busy_s() -> float:
    """CPU seconds all processes used on all CPUs since boot, plus what the hypervisor stole."""
    times = psutil.cpu_times()
    return times.user + times.nice + times.system + times.irq + times.softirq + times.steal


def others_cores(stats: RunStats) -> float:
    """Cores that processes outside the named groups used during the run, on average.

    NaN unless the run was measured with ``CpuMeter(machine=True)``.
    """
    if MACHINE not in stats.cpu_s:
        return float("nan")
    ours = sum(seconds for group, seconds in stats.cpu_s.items() if group != MACHINE)
    return max(0.0, stats.cpu_s[MACHINE] - ours) / stats.seconds


async def wait_until_quiet(max_busy_cores: float = 0.2, timeout: float = 30.0) -> float:
    """Wait until the machine was nearly idle for a second; returns the seconds waited.

    Call it while the measured processes are idle: then the busy time is other
    processes' (a test run, another benchmark), which would share the CPUs with the run.
    Gives up after ``timeout``; the run then goes ahead and its CPU figures show it.
    """
    started = time.monotonic()
    while True:
        before = machine_busy_s()
        await asyncio.sleep(1.0)
        busy = machine_busy_s() - before
        waited = time.monotonic() - started
        if busy <= max_busy_cores or waited > timeout:
            return waited - 1.0


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
        requests = [_rotating(client, users, index, clients) for index, client in enumerate(pool)]
        return await closed_loops(requests, duration=duration, cpu=cpu)
    finally:
        for client in pool:
            await client.close()


async def closed_loops(requests: Sequence[Request], *, duration: float, cpu: CpuMeter) -> RunStats:
    """One closed loop per request function, for ``duration`` seconds; every call is timed.

    A loop sends its next request as soon as the previous one returned; the run ends when
    the last in-flight request returns after the deadline.
    """
    before = cpu.sample()
    started = time.perf_counter()
    deadline = started + duration
    results = await asyncio.gather(*(_client_loop(request, deadline) for request in requests))
    finished = time.perf_counter()
    after = cpu.sample()
    latencies = sorted(latency for run in results for latency in run)
    seconds = finished - started
    return RunStats(
        clients=len(requests),
        requests=len(latencies),
        seconds=round(seconds, 3),
        requests_per_s=round(len(latencies) / seconds, 2),
        p50_ms=_percentile_ms(latencies, 0.50),
        p99_ms=_percentile_ms(latencies, 0.99),
        cpu_s={name: round(after[name] - before[name], 3) for name in after},
    )


def _rotating(client: PageClient, users: Sequence[uuid.UUID], first: int, stride: int) -> Request:
    # Clients start on different users and step by the client count, so concurrent
    # requests are for different learners, as in production.
    index = first

    async def fetch() -> None:
        nonlocal index
        await client.fetch(users[index % len(users)])
        index += stride

    return fetch


async def _client_loop(request: Request, deadline: float) -> list[float]:
    latencies: list[float] = []
    while (start := time.perf_counter()) < deadline:
        await request()
        latencies.append(time.perf_counter() - start)
    return latencies


def _percentile_ms(sorted_seconds: list[float], share: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not sorted_seconds:
        return float("nan")
    rank = max(0, math.ceil(share * len(sorted_seconds)) - 1)
    return round(sorted_seconds[rank] * 1000, 2)


def say(message: str) -> None:
    """Progress for the person running a benchmark: stderr, so stdout keeps the report."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
