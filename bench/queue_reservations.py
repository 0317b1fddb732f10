"""Benchmark: reserveTasks through the real server vs the same SQL from asyncpg.

    .venv/bin/python bench/queue_reservations.py [--duration SECONDS] [--clients 8,32] [--limit 1]

Loads the course page's dataset (1,000 tasks, 2,000 users), starts uvicorn as production
runs it, and drives both sides with closed-loop clients: each client one learner of its
own, then all clients on ONE learner (the contended case: every reserver races for the
same first tasks and skips the ones in flight). See bench/README.md.
"""

import argparse
import asyncio
import math
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import orjson
import uvloop

import loadgen
import page_dataset
import queue_sides
import server_process
from gql.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
VISIBILITY_SECONDS = 900


class Client(Protocol):
    async def fetch(self, user_id: uuid.UUID) -> int: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Run:
    side: str
    mode: str
    clients: int
    calls: int
    seconds: float
    calls_per_s: float
    reservations_per_s: float
    p50_ms: float
    p99_ms: float
    short_calls: int  # answered with fewer reservations than asked (should stay 0)
    cpu_s: dict[str, float]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run")
    parser.add_argument(
        "--clients",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[8, 32],
        help="comma-separated client counts (default 8,32)",
    )
    parser.add_argument("--limit", type=int, default=1, help="tasks per reserveTasks call")
    parser.add_argument(
        "--window",
        type=float,
        default=1.0,
        help="seconds between queue resets: one learner holds only 1,000 tasks",
    )
    return parser.parse_args(argv)


async def run_side(
    connect: Callable[[], Awaitable[Client]],
    *,
    side: str,
    mode: str,
    users: Sequence[Sequence[uuid.UUID]],
    args: argparse.Namespace,
    admin: asyncpg.Connection,
    cpu: loadgen.CpuMeter,
) -> Run:
    """Closed loops (client i rotating over ``users[i]``) in windows of ``--window`` seconds,
    the queue emptied between windows (untimed), until ``--duration`` seconds ran."""
    pool = [await connect() for _ in users]
    try:
        for client, own in zip(pool, users, strict=True):
            if await client.fetch(own[0]) < 1:  # untimed: warms and checks
                raise RuntimeError(f"{side}: the warm-up reserved nothing")
        await admin.execute("TRUNCATE user_task_queue")
        latencies: list[float] = []
        reserved = short = 0
        seconds = 0.0
        used: dict[str, float] = {}
        while seconds < args.duration:
            before = cpu.sample()
            started = time.perf_counter()
            deadline = started + min(args.window, args.duration - seconds)
            windows = await asyncio.gather(
                *(_loop(c, own, deadline, args.limit) for c, own in zip(pool, users, strict=True))
            )
            seconds += time.perf_counter() - started
            after = cpu.sample()
            used = {k: used.get(k, 0.0) + after[k] - before[k] for k in after}
            for window_latencies, window_reserved, window_short in windows:
                latencies += window_latencies
                reserved += window_reserved
                short += window_short
            await admin.execute("TRUNCATE user_task_queue")
    finally:
        for client in pool:
            await client.close()
    latencies.sort()
    return Run(
        side=side,
        mode=mode,
        clients=len(users),
        calls=len(latencies),
        seconds=round(seconds, 3),
        calls_per_s=round(len(latencies) / seconds, 1),
        reservations_per_s=round(reserved / seconds, 1),
        p50_ms=_percentile_ms(latencies, 0.50),
        p99_ms=_percentile_ms(latencies, 0.99),
        short_calls=short,
        cpu_s={name: round(value, 2) for name, value in used.items()},
    )


async def _loop(
    client: Client, users: Sequence[uuid.UUID], deadline: float, limit: int
) -> tuple[list[float], int, int]:
    latencies: list[float] = []
    reserved = short = index = 0
    while (start := time.perf_counter()) < deadline:
        got = await client.fetch(users[index % len(users)])
        latencies.append(time.perf_counter() - start)
        reserved += got
        short += got < limit
        index += 1
    return latencies, reserved, short


def _percentile_ms(sorted_seconds: list[float], share: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not sorted_seconds:
        return float("nan")
    return round(sorted_seconds[max(0, math.ceil(share * len(sorted_seconds)) - 1)] * 1000, 2)


async def compare(
    args: argparse.Namespace,
    database: page_dataset.ScratchDatabase,
    course_id: uuid.UUID,
    server: server_process.Server,
) -> list[Run]:
    dsn = page_dataset.asyncpg_dsn(database.url)
    admin = await asyncpg.connect(dsn)
    settings = Settings(database_url=database.url)
    # Visitors have no progress: all 1,000 tasks are new to each of them.
    visitors = [
        row["id"]
        for row in await admin.fetch(
            "SELECT id FROM users WHERE handle LIKE 'visitor-%' ORDER BY handle"
        )
    ]
    cpu = loadgen.CpuMeter(
        trees={"server": server.pid, "postgres": database.postmaster_pid},
        single={"bench": os.getpid()},
    )
    runs = []
    try:
        for clients in args.clients:
            modes = {
                "one learner each": [visitors[i::clients] for i in range(clients)],
                "all on one learner": [[visitors[-1]]] * clients,
            }
            for mode, users in modes.items():

                async def floor() -> Client:
                    return await queue_sides.FloorClient.connect(
                        dsn, course_id, args.limit, VISIBILITY_SECONDS
                    )

                async def http(users: Sequence[Sequence[uuid.UUID]] = users) -> Client:
                    client = queue_sides.HttpClient(
                        server.base_url, settings, course_id, args.limit, VISIBILITY_SECONDS
                    )
                    client.prepare(sorted({u for own in users for u in own}))
                    return client

                for side, connect in (("floor", floor), ("http", http)):
                    run = await run_side(
                        connect, side=side, mode=mode, users=users, args=args, admin=admin, cpu=cpu
                    )
                    loadgen.say(_line(run))
                    runs.append(run)
    finally:
        await admin.close()
    return runs


def _line(run: Run) -> str:
    return (
        f"{run.mode:>19} {run.clients:>3} {run.side:>5}: {run.reservations_per_s:>8.1f} res/s"
        f"  p50 {run.p50_ms:>7.2f} ms  p99 {run.p99_ms:>7.2f} ms  short {run.short_calls}"
        f"  cpu {run.cpu_s}"
    )


def report(runs: list[Run]) -> str:
    lines = [
        "| learners | clients | floor res/s | HTTP res/s | HTTP/floor"
        " | floor p99 ms | HTTP p99 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    by_key = {(r.mode, r.clients, r.side): r for r in runs}
    for mode, clients, _ in sorted({(r.mode, r.clients, 0) for r in runs}):
        floor, http = by_key[(mode, clients, "floor")], by_key[(mode, clients, "http")]
        ratio = http.reservations_per_s / floor.reservations_per_s
        lines.append(
            f"| {mode} | {clients} | {floor.reservations_per_s:.0f} | {http.reservations_per_s:.0f}"
            f" | {ratio:.2f} | {floor.p99_ms:.1f} | {http.p99_ms:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    with page_dataset.scratch_database(os.environ.get("DATABASE_URL")) as database:
        loadgen.say("loading the dataset ...")
        dataset = asyncio.run(page_dataset.load(database.url))
        port = server_process.free_port()
        log = RESULTS / "queue_server.log"
        with server_process.running(
            server_process.uvicorn_command(port), port, database.url, log
        ) as server:
            runs = uvloop.run(compare(args, database, dataset.course_id, server))
    table = report(runs)
    print(table)
    results: dict[str, Any] = {"args": vars(args), "runs": [asdict(r) for r in runs]}
    (RESULTS / "queue.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
