"""Memory of a server process over many course-page requests: RSS before and after.

Issue 6 asks that a server process's memory stay flat over 10,000 requests. This starts the
server (one uvicorn worker), warms it up, reads its RSS, sends N more course-page requests
from a few concurrent clients, and reads the RSS again (after a short pause, so work in
flight has finished). A leak shows as growth proportional to N; allocator noise does not.

    .venv/bin/python bench/memory_soak.py [--requests 10000] [--clients 4]
"""

import argparse
import asyncio
import sys
import time
from itertools import cycle
from pathlib import Path

import psutil
import uvloop

import attempt_report
import page_dataset
import page_sides
import server_process

RESULTS = Path(__file__).resolve().parent / "results"
WARM_UP = 300
# Flat: the RSS after all requests at most 2% above the RSS after warm-up (the allocator
# settles; a leak of even 1 KiB per request would add ~10 MiB, 8%).
FLAT_LIMIT = 0.02


async def _send(api: page_sides.Side, learners: list, total: int, clients: int) -> float:
    users = cycle(learners)
    remaining = total
    started = time.perf_counter()

    async def client() -> None:
        nonlocal remaining
        page = await api.open_client()
        try:
            while remaining > 0:
                remaining -= 1
                await page.fetch(next(users))
        finally:
            await page.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started


def _rss_mib(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


async def soak(
    args: argparse.Namespace,
    database_url: str,
    dataset: page_dataset.Dataset,
    server: server_process.Server,
) -> str:
    _, api = page_sides.floor_and_api(database_url, dataset, server.base_url)
    await _send(api, dataset.learners, WARM_UP, args.clients)
    await asyncio.sleep(1)
    before = _rss_mib(server.pid)
    half = await _send(api, dataset.learners, args.requests // 2, args.clients)
    await asyncio.sleep(1)
    middle = _rss_mib(server.pid)
    rest = await _send(api, dataset.learners, args.requests - args.requests // 2, args.clients)
    await asyncio.sleep(1)
    after = _rss_mib(server.pid)
    rate = args.requests / (half + rest)
    growth = after - before
    flat = attempt_report.Verdict(
        f"RSS growth / RSS after warm-up (issue 6 target: <= {FLAT_LIMIT:.2f}, flat)",
        growth / before,
        FLAT_LIMIT,
        growth / before <= FLAT_LIMIT,
    )
    return (
        f"requests: {args.requests} course pages ({rate:.1f} req/s, {args.clients} clients)\n"
        f"server RSS: {before:.1f} MiB after {WARM_UP} warm-up requests,"
        f" {middle:.1f} MiB half-way, {after:.1f} MiB at the end\n"
        f"growth: {growth:+.1f} MiB ({growth / before * 100:+.1f}%);"
        f" second half {after - middle:+.1f} MiB\n"
        f"{flat.line()}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    with page_dataset.scratch_database(None) as database:
        dataset = uvloop.run(page_dataset.load(database.url))
        port = server_process.free_port()
        command = server_process.uvicorn_command(port)
        log = RESULTS / "memory_soak_server.log"
        with server_process.running(command, port, database.url, log) as server:
            report = uvloop.run(soak(args, database.url, dataset, server))
    sys.stdout.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
