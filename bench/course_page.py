"""Benchmark: the nested course page through the real server vs one hand-written SQL query.

    .venv/bin/python bench/course_page.py [--duration SECONDS] [--clients 1,8,32] [--profile]

Loads 1,000 tasks and 2,000 users into a scratch database, starts uvicorn as production
runs it, and drives both sides with the same closed-loop clients. See bench/README.md.
"""

import argparse
import asyncio
import importlib.util
import os
import signal
import sys
import time
from pathlib import Path

import uvloop

import loadgen
import page_dataset
import page_report
import page_sides
import run_environment
import server_process

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument(
        "--clients",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 8, 32],
        help="comma-separated client counts (default 1,8,32)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (`learntrack serve --workers N`; default 1, plain uvicorn)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead of the comparison: one 1-client run with the server under pyinstrument",
    )
    return parser.parse_args(argv)


async def compare(
    args: argparse.Namespace,
    database: page_dataset.ScratchDatabase,
    dataset: page_dataset.Dataset,
    server: server_process.Server,
) -> tuple[list[page_report.Comparison], str | None]:
    floor, api = page_sides.floor_and_api(database.url, dataset, server.base_url)
    difference = await page_sides.first_difference(floor, api)
    if difference:
        loadgen.say(f"WARNING: the floor's page differs from the API's at {difference}")
    cpu = loadgen.CpuMeter(
        trees={"server": server.pid, "postgres": database.postmaster_pid},
        single={"bench": os.getpid()},
    )
    comparisons = []
    for clients in args.clients:
        floor_stats = await floor.run(clients, args.duration, cpu)
        api_stats = await api.run(clients, args.duration, cpu)
        comparisons.append(page_report.Comparison(floor_stats, api_stats))
        loadgen.say(
            f"clients={clients}: floor {floor_stats.requests_per_s} req/s,"
            f" learntrack {api_stats.requests_per_s} req/s"
        )
    return comparisons, difference


def run_comparison(
    args: argparse.Namespace, database: page_dataset.ScratchDatabase, dataset: page_dataset.Dataset
) -> int:
    port = server_process.free_port()
    command = (
        server_process.serve_command(port, args.workers)
        if args.workers > 1
        else server_process.uvicorn_command(port)
    )
    with server_process.running(command, port, database.url, RESULTS / "server.log") as server:
        comparisons, difference = uvloop.run(compare(args, database, dataset, server))
    meta = {
        **run_environment.describe(),
        "duration_s": args.duration,
        "dataset": _dataset_meta(dataset),
        "server_command": " ".join(command[2:]),
        "same_document": difference is None,
        "difference": difference,
    }
    output = RESULTS / "course_page.json"
    verdicts = page_report.verdicts(comparisons)
    meta["verdicts"] = [verdict.as_dict() for verdict in verdicts]
    page_report.write_json(output, comparisons, meta)
    lines = [verdict.line() for verdict in verdicts]
    sys.stdout.write(
        "\n" + page_report.table(comparisons) + "\n" + "\n".join(lines) + f"\n\nresults: {output}\n"
    )
    return 0


async def profile(
    server: server_process.Server, api: page_sides.Side, duration: float, report: Path
) -> loadgen.RunStats:
    cpu = loadgen.CpuMeter(trees={"server": server.pid})
    await api.run(1, min(duration, 2.0), cpu)  # warm caches and the pool before sampling
    os.kill(server.pid, signal.SIGUSR1)
    stats = await api.run(1, duration, cpu)
    os.kill(server.pid, signal.SIGUSR2)
    await asyncio.to_thread(server_process.wait_for_file, report)
    return stats


def run_profile(
    args: argparse.Namespace, database: page_dataset.ScratchDatabase, dataset: page_dataset.Dataset
) -> int:
    output = RESULTS / "course_page_profile"
    summary = output.with_suffix(".summary.txt")
    summary.unlink(missing_ok=True)  # its appearance is the signal that the reports are done
    port = server_process.free_port()
    command = server_process.profiled_command(port, output)
    with server_process.running(command, port, database.url, RESULTS / "server.log") as server:
        _, api = page_sides.floor_and_api(database.url, dataset, server.base_url)
        stats = uvloop.run(profile(server, api, args.duration, summary))
    top = "\n".join(summary.read_text().splitlines()[:45])
    sys.stdout.write(
        f"\nprofiled 1-client run: {stats.requests_per_s} req/s, p50 {stats.p50_ms} ms"
        f" (slowed by sampling)\n\n{top}\n\nreports: {output}.html, .txt, .summary.txt\n"
    )
    return 0


def _dataset_meta(dataset: page_dataset.Dataset) -> dict[str, int]:
    return {
        "sections": page_dataset.SECTIONS,
        "themes_per_section": page_dataset.THEMES_PER_SECTION,
        "tasks_per_theme": page_dataset.TASKS_PER_THEME,
        "users": page_dataset.USERS,
        "learners": len(dataset.learners),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.profile and importlib.util.find_spec("pyinstrument") is None:
        loadgen.say(
            "--profile needs pyinstrument, which is not a project dependency.\n"
            "Install it for a local run: .venv/bin/pip install pyinstrument"
        )
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    with page_dataset.scratch_database(os.environ.get("DATABASE_URL")) as database:
        started = time.perf_counter()
        dataset = uvloop.run(page_dataset.load(database.url))
        loadgen.say(f"loaded the dataset in {time.perf_counter() - started:.1f} s")
        if args.profile:
            return run_profile(args, database, dataset)
        return run_comparison(args, database, dataset)


if __name__ == "__main__":
    sys.exit(main())
