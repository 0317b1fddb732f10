"""Benchmark: recording attempts through HTTP and the domain layer vs the same SQL sent bare.

    .venv/bin/python bench/attempts.py [--duration S] [--clients 1,8,32]
                                       [--sizes 10000,100000,1000000] [--repeats 2]
                                       [--workers N]

Loads the course page's dataset (1,000 tasks, 2,000 users) into a scratch database, then
for each client count runs the floor (the domain's statements sent by bare asyncpg), the
domain layer in this process and ``submitAttempt`` through the real server; profiles the
domain layer at one client; and measures the cost per attempt with the attempt table
preloaded to each size. See bench/README.md.
"""

import argparse
import os
import signal
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import uvloop

import attempt_dataset
import attempt_floor
import attempt_profile
import attempt_report
import attempt_sides
import loadgen
import page_dataset
import run_environment
import server_process

RESULTS = Path(__file__).resolve().parent / "results"
FLATNESS_CLIENTS = 8
# Each size is measured this often and the cheapest run counts: other processes on the
# machine can only make a run slower, never faster.
FLATNESS_REPEATS = 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument(
        "--clients",
        type=_numbers,
        default=[1, 8, 32],
        help="comma-separated client counts (default 1,8,32)",
    )
    parser.add_argument(
        "--sizes",
        type=_numbers,
        default=[10_000, 100_000, 1_000_000],
        help="attempt-table sizes for the flatness runs (default 10000,100000,1000000)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="runs per side and client count, alternating; the fastest counts (default 2)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (`learntrack serve --workers N`; default 1, plain uvicorn)",
    )
    return parser.parse_args(argv)


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


@dataclass(frozen=True)
class Plan:
    """The active tasks, and learners given out so that no two runs share one."""

    tasks: list[attempt_dataset.Placement]
    floor: list[uuid.UUID]
    domain: list[uuid.UUID]
    http: list[uuid.UUID]
    flatness: list[uuid.UUID]
    profile: list[uuid.UUID]


async def assign_learners(database_url: str, clients: int) -> Plan:
    conn = await asyncpg.connect(page_dataset.asyncpg_dsn(database_url))
    try:
        tasks = await attempt_dataset.list_active_tasks(conn)
        users = await attempt_dataset.list_users(conn)
    finally:
        await conn.close()
    needed = 3 * clients + FLATNESS_CLIENTS + 1
    if needed > len(users):
        raise SystemExit(f"{clients} clients need {needed} users; the dataset has {len(users)}")
    edges = [0, clients, 2 * clients, 3 * clients, 3 * clients + FLATNESS_CLIENTS]
    floor, domain, http, flatness = (users[a:b] for a, b in zip(edges, edges[1:], strict=False))
    return Plan(tasks, floor, domain, http, flatness, [users[edges[-1]]])


async def compare(
    args: argparse.Namespace,
    database: page_dataset.ScratchDatabase,
    plan: Plan,
    server: server_process.Server,
) -> tuple[list[attempt_report.Comparison], attempt_floor.Recordings]:
    engine = attempt_sides.domain_engine(database.url)
    try:
        recordings = await attempt_floor.record(engine, plan.floor[0], plan.tasks)
        solved, unsolved = recordings.solved.statements, recordings.unsolved.statements
        loadgen.say(
            f"recorded the domain's SQL: {len(solved)} statements solved, {len(unsolved)} not"
        )
        sides = (
            attempt_sides.floor_side(database.url, plan.tasks, recordings, plan.floor),
            attempt_sides.domain_side(engine, plan.tasks, plan.domain),
            attempt_sides.http_side(server.base_url, plan.tasks, plan.http),
        )
        cpu = loadgen.CpuMeter(
            trees={"server": server.pid, "postgres": database.postmaster_pid},
            single={"bench": os.getpid()},
            machine=True,
        )
        comparisons = []
        for clients in args.clients:
            floor, domain, http = await _fastest_of(args.repeats, sides, clients, args, cpu)
            comparisons.append(attempt_report.Comparison(floor, domain, http))
            loadgen.say(
                f"clients={clients}: floor {floor.requests_per_s} att/s, domain"
                f" {domain.requests_per_s}, HTTP {http.requests_per_s}"
            )
        return comparisons, recordings
    finally:
        await engine.dispose()


async def _fastest_of(
    repeats: int,
    sides: Sequence[attempt_sides.Side],
    clients: int,
    args: argparse.Namespace,
    cpu: loadgen.CpuMeter,
) -> list[loadgen.RunStats]:
    """Each side's fastest of ``repeats`` runs, the sides alternating (forward, then
    backward): the machine can only slow a run down (a commit's flush, another process),
    so the fastest run is the least disturbed measurement of each side."""
    runs: dict[str, list[loadgen.RunStats]] = {side.name: [] for side in sides}
    for repeat in range(repeats):
        for side in sides if repeat % 2 == 0 else sides[::-1]:
            runs[side.name].append(await side.run(clients, args.duration, cpu))
    return [max(runs[side.name], key=lambda stats: stats.requests_per_s) for side in sides]


async def profile_domain(
    args: argparse.Namespace, database: page_dataset.ScratchDatabase, plan: Plan, py_spy: str
) -> attempt_profile.Profile:
    engine = attempt_sides.domain_engine(database.url)
    try:
        side = attempt_sides.domain_side(engine, plan.tasks, plan.profile)
        cpu = loadgen.CpuMeter(
            trees={"postgres": database.postmaster_pid}, single={"bench": os.getpid()}, machine=True
        )
        output = RESULTS / "attempts_profile"
        return await attempt_profile.profile(py_spy, side.run, args.duration, cpu, output)
    finally:
        await engine.dispose()


async def measure_flatness(
    args: argparse.Namespace, database: page_dataset.ScratchDatabase, plan: Plan, outcome: str
) -> list[attempt_report.Flatness]:
    engine = attempt_sides.domain_engine(database.url)
    conn = await asyncpg.connect(page_dataset.asyncpg_dsn(database.url))
    try:
        side = attempt_sides.domain_side(engine, plan.tasks, plan.flatness)
        cpu = loadgen.CpuMeter(
            trees={"postgres": database.postmaster_pid}, single={"bench": os.getpid()}, machine=True
        )
        # The comparison's attempts go first, so each size is the preloaded rows plus
        # what the smaller sizes' runs added (a few thousand at most).
        await attempt_dataset.clear_attempts(conn)
        runs = []
        for size in sorted(args.sizes):
            fill = await attempt_dataset.fill_attempts(conn, size, outcome)
            rows = await attempt_dataset.count_attempts(conn)
            loadgen.say(
                f"attempt table: {rows:,} rows ({fill.added:,} inserted in {fill.insert_s:.1f} s,"
                f" VACUUM ANALYZE {fill.vacuum_s:.1f} s, CHECKPOINT {fill.checkpoint_s:.1f} s)"
            )
            repeats = []
            for _ in range(FLATNESS_REPEATS):
                stats = await side.run(FLATNESS_CLIENTS, args.duration, cpu)
                loadgen.say(f"  {stats.requests_per_s} att/s at {FLATNESS_CLIENTS} clients")
                repeats.append(stats)
            runs.append(attempt_report.Flatness(rows, fill, repeats))
        return runs
    finally:
        await conn.close()
        await engine.dispose()


def report(
    args: argparse.Namespace,
    plan: Plan,
    command: list[str],
    comparisons: list[attempt_report.Comparison],
    recordings: attempt_floor.Recordings,
    flatness: list[attempt_report.Flatness],
    profiled: attempt_profile.Profile | None,
) -> str:
    http = attempt_report.http_verdict(comparisons)
    flat = attempt_report.flatness_verdict(flatness)
    # The profiled side sends both kinds about equally often; BEGIN and COMMIT count too.
    statements = (len(recordings.solved.statements) + len(recordings.unsolved.statements)) / 2
    round_trips = statements + 2
    output = RESULTS / "attempts.json"
    attempt_report.write_json(
        output,
        {
            "meta": {
                **run_environment.describe(),
                "duration_s": args.duration,
                "repeats": args.repeats,
                "dataset": {
                    "active_tasks": len(plan.tasks),
                    "users": page_dataset.USERS,
                    "learners_with_progress": page_dataset.USERS_WITH_PROGRESS,
                },
                "server_command": " ".join(command[2:]),
                "flatness_clients": FLATNESS_CLIENTS,
                "flatness_repeats": FLATNESS_REPEATS,
                "floor_statements": recordings.sql,
            },
            "comparison": [row.as_dict() for row in comparisons],
            "flatness": [run.as_dict() for run in flatness],
            "targets": {"http": http.as_dict(), "flatness": flat.as_dict()},
            "profile": profiled.as_dict() if profiled else None,
        },
    )
    parts = [
        f"Attempts per second and latency ({args.duration:g} s per run, fastest of"
        f" {args.repeats}, each client its own learner; {round_trips:g} round trips per"
        " attempt on average)",
        attempt_report.comparison_table(comparisons),
        http.line(),
        "",
        "CPU per attempt, ms (bench: this process, clients included; server: uvicorn;"
        " PG: all backends)",
        attempt_report.cpu_table(comparisons),
    ]
    if flatness:
        parts += [
            "",
            f"Cost per attempt by attempt-table size (domain layer, {FLATNESS_CLIENTS} clients)",
            attempt_report.flatness_table(flatness),
            flat.line(),
        ]
    if profiled:
        by_clients = {row.floor.clients: row for row in comparisons}
        one = by_clients.get(1)
        floor, domain = (one.floor, one.domain) if one else (None, None)
        parts += ["", attempt_profile.breakdown(profiled, floor, domain, round_trips)]
    return "\n".join(parts) + f"\n\nresults: {output}\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A SIGTERM (timeout, CI) unwinds like Ctrl-C, so the scratch database and the
    # server child are stopped and removed rather than left running.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    RESULTS.mkdir(parents=True, exist_ok=True)
    py_spy = attempt_profile.find_py_spy()
    with page_dataset.scratch_database(os.environ.get("DATABASE_URL")) as database:
        started = time.perf_counter()
        uvloop.run(page_dataset.load(database.url))
        plan = uvloop.run(assign_learners(database.url, max(args.clients)))
        loadgen.say(f"loaded the dataset in {time.perf_counter() - started:.1f} s")
        port = server_process.free_port()
        command = (
            server_process.serve_command(port, args.workers)
            if args.workers > 1
            else server_process.uvicorn_command(port)
        )
        log = RESULTS / "attempts_server.log"
        with server_process.running(command, port, database.url, log) as server:
            comparisons, recordings = uvloop.run(compare(args, database, plan, server))
        profiled = None
        if py_spy is None:
            loadgen.say(
                "no profile: py-spy not found (pip install py-spy, or set PY_SPY to its path)"
            )
        else:
            profiled = uvloop.run(profile_domain(args, database, plan, py_spy))
        flatness = uvloop.run(measure_flatness(args, database, plan, recordings.unsolved.outcome))
    sys.stdout.write(
        "\n" + report(args, plan, command, comparisons, recordings, flatness, profiled)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
