"""Benchmark: what active badge rules cost a recorded attempt (issue 5).

    .venv/bin/python bench/badge_rules.py [--duration S] [--clients 8] [--rules 0,10,200]
                                          [--repeats 2] [--census 300] [--profile]

Loads the attempts benchmark's dataset (1,000 tasks, 2,000 users), creates a catalog of
200 badge rules through the admin API, and for each number of active rules measures
``submitAttempt`` through the real server and ``record_attempt`` through the domain layer,
each client its own learner, ~70% of attempts solving. Prints throughput and latency with
the slowdown against 0 rules (target: at most 1.3x at 200), and what an attempt's badge
step did: rules looked up and evaluated, SQL sent, time by phase. See bench/README.md.
"""

import argparse
import importlib.util
import os
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import uvloop

import attempt_dataset
import attempt_report
import attempt_sides
import badge_catalog
import badge_census
import badge_profile
import loadgen
import page_dataset
import run_environment
import server_process

RESULTS = Path(__file__).resolve().parent / "results"
SOLVED_SHARE = 0.7
SLOWDOWN_LIMIT = 1.3  # issue 5: an attempt at 200 rules at most 1.3x slower than at 0
TARGET_RULES = 200
SIDES = ("HTTP", "domain")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent learners (default 8)")
    parser.add_argument(
        "--rules",
        type=_numbers,
        default=[0, 10, TARGET_RULES],
        help=f"comma-separated active-rule counts, at most {badge_catalog.SIZE} (default 0,10,200)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="runs per rule count and side, in alternating order; the fastest counts (default 2)",
    )
    parser.add_argument(
        "--census",
        type=int,
        default=300,
        help="attempts counted per rule count for the per-attempt breakdown (default 300)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile the census at the largest rule count with pyinstrument",
    )
    args = parser.parse_args(argv)
    if 0 not in args.rules:
        parser.error("--rules must include 0: every ratio is against 0 rules")
    if max(args.rules) > badge_catalog.SIZE or min(args.rules) < 0:
        parser.error(f"--rules: between 0 and {badge_catalog.SIZE}")
    args.rules = sorted(set(args.rules))
    return args


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


@dataclass(frozen=True)
class Plan:
    """Learners given out so that no two runs (and no census) share one."""

    tasks: list[attempt_dataset.Placement]
    content: badge_catalog.Content
    runs: dict[tuple[str, int, int], list[uuid.UUID]]  # (side, rules, repeat) -> learners
    census: dict[int, uuid.UUID]


async def make_plan(database_url: str, args: argparse.Namespace) -> Plan:
    conn = await asyncpg.connect(page_dataset.asyncpg_dsn(database_url))
    try:
        tasks = await attempt_dataset.list_active_tasks(conn)
        users = await attempt_dataset.list_users(conn)  # the learners with progress first
        content = await badge_catalog.read_content(conn)
    finally:
        await conn.close()
    keys = [
        (side, rules, repeat)
        for side in SIDES
        for rules in args.rules
        for repeat in range(args.repeats)
    ]
    needed = len(keys) * args.clients + len(args.rules)
    if needed > page_dataset.USERS_WITH_PROGRESS:
        raise SystemExit(
            f"{len(keys)} runs of {args.clients} clients and the census need {needed} learners;"
            f" the dataset has {page_dataset.USERS_WITH_PROGRESS} with progress"
        )
    learners = iter(users[:needed])
    runs = {key: [next(learners) for _ in range(args.clients)] for key in keys}
    census = {rules: next(learners) for rules in args.rules}
    return Plan(tasks, content, runs, census)


@dataclass
class Measured:
    runs: dict[tuple[str, int], list[loadgen.RunStats]]
    census: dict[int, badge_census.Census]
    profile: str | None

    def best(self, side: str, rules: int) -> loadgen.RunStats:
        """The fastest repeat: other processes can only have slowed the others down."""
        return max(self.runs[(side, rules)], key=lambda stats: stats.requests_per_s)


async def measure(
    args: argparse.Namespace,
    database: page_dataset.ScratchDatabase,
    plan: Plan,
    server: server_process.Server,
    catalog: list[badge_catalog.CreatedRule],
) -> Measured:
    engine = attempt_sides.domain_engine(database.url)
    census_engine = attempt_sides.domain_engine(database.url)
    cpu = loadgen.CpuMeter(
        trees={"server": server.pid, "postgres": database.postmaster_pid},
        single={"bench": os.getpid()},
        machine=True,
    )
    measured = Measured({(side, n): [] for side in SIDES for n in args.rules}, {}, None)
    try:
        for repeat in range(args.repeats):
            # Alternating order, so a drift over the whole benchmark (the machine warming
            # up, tables growing) does not favour one rule count.
            order = args.rules if repeat % 2 == 0 else args.rules[::-1]
            for rules in order:
                await badge_catalog.activate(engine, catalog, rules)
                if repeat == 0:
                    await settle(database.url)
                    census = await badge_census.take(
                        census_engine,
                        plan.census[rules],
                        plan.tasks,
                        active_rules=rules,
                        attempts=args.census,
                        solved_share=SOLVED_SHARE,
                        cpu=cpu,
                    )
                    measured.census[rules] = census
                    loadgen.say(
                        f"{rules} rules: a solving attempt looked up"
                        f" {census.per_solving(census.candidates):.1f} rules, sent"
                        f" {census.per_solving(census.badge_statements):.1f} badge statements"
                    )
                    if args.profile and rules == max(args.rules):
                        measured.profile = await profile_census(
                            census_engine, plan, rules, args, cpu
                        )
                for side in SIDES:
                    await settle(database.url)
                    stats = await _side(side, engine, server, plan, rules, repeat).run(
                        args.clients, args.duration, cpu
                    )
                    measured.runs[(side, rules)].append(stats)
                    loadgen.say(
                        f"{rules} rules, {side}: {stats.requests_per_s} att/s,"
                        f" p50 {stats.p50_ms} ms, p99 {stats.p99_ms} ms"
                    )
        return measured
    finally:
        await engine.dispose()
        await census_engine.dispose()


async def settle(database_url: str) -> None:
    """VACUUM ANALYZE and CHECKPOINT before a run: every run starts from tables vacuumed
    and pages written, and the upkeep of earlier runs' rows (autovacuum, which the CPU meter
    charges to PostgreSQL, not to other processes) does not land in whichever run follows."""
    conn = await asyncpg.connect(page_dataset.asyncpg_dsn(database_url))
    try:
        await conn.execute("VACUUM ANALYZE")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


def _side(
    side: str,
    engine: Any,
    server: server_process.Server,
    plan: Plan,
    rules: int,
    repeat: int,
) -> attempt_sides.Side:
    users = plan.runs[(side, rules, repeat)]
    name = f"{side}, {rules} rules"
    if side == "HTTP":
        return attempt_sides.http_side(
            server.base_url, plan.tasks, users, solved_share=SOLVED_SHARE, name=name
        )
    return attempt_sides.domain_side(
        engine, plan.tasks, users, solved_share=SOLVED_SHARE, name=name
    )


async def profile_census(
    engine: Any, plan: Plan, rules: int, args: argparse.Namespace, cpu: loadgen.CpuMeter
) -> str:
    """The census pass again under pyinstrument; returns the summary's text."""

    async def census() -> None:
        # The census learner again: its attempts only lengthen its own history a little.
        await badge_census.take(
            engine,
            plan.census[rules],
            plan.tasks,
            active_rules=rules,
            attempts=args.census,
            solved_share=SOLVED_SHARE,
            cpu=cpu,
        )

    path, summary = await badge_profile.profile(census, RESULTS / "badge_rules_profile")
    loadgen.say(f"profile: {path}")
    return summary


# --- report --------------------------------------------------------------------------------


def slowdown(measured: Measured, side: str, rules: int) -> float:
    """Throughput at 0 rules ÷ throughput at ``rules``: how many times slower an attempt is."""
    return measured.best(side, 0).requests_per_s / measured.best(side, rules).requests_per_s


def verdict(measured: Measured, side: str, rules: list[int]) -> attempt_report.Verdict:
    target = (
        f"{side}: att/s at 0 rules / att/s at {TARGET_RULES} (issue 5 target: <= {SLOWDOWN_LIMIT})"
    )
    if TARGET_RULES not in rules:
        return attempt_report.Verdict(target, None, SLOWDOWN_LIMIT, None)
    value = slowdown(measured, side, TARGET_RULES)
    return attempt_report.Verdict(target, value, SLOWDOWN_LIMIT, value <= SLOWDOWN_LIMIT)


THROUGHPUT_COLUMNS = (
    ("side", 6),
    ("rules", 5),
    ("att/s", 7),
    ("p50 / p99 ms", 13),
    ("slowdown", 8),
    ("p50 x", 5),
    ("p99 x", 5),
    ("CPU ms/att server | bench | PG", 30),
    ("others", 6),
    ("runs att/s", 15),
)


def throughput_table(measured: Measured, rules: list[int]) -> str:
    rows = []
    for side in SIDES:
        zero = measured.best(side, 0)
        for n in rules:
            stats = measured.best(side, n)
            groups = ("server", "bench", "postgres") if side == "HTTP" else ("bench", "postgres")
            cpu = " | ".join(
                f"{1000 * stats.cpu_s.get(g, float('nan')) / stats.requests:.2f}" for g in groups
            )
            if side != "HTTP":
                cpu = "- | " + cpu
            rows.append(
                (
                    side,
                    str(n),
                    f"{stats.requests_per_s:.1f}",
                    f"{stats.p50_ms:.2f} / {stats.p99_ms:.2f}",
                    f"{slowdown(measured, side, n):.3f}",
                    f"{stats.p50_ms / zero.p50_ms:.2f}",
                    f"{stats.p99_ms / zero.p99_ms:.2f}",
                    cpu,
                    f"{loadgen.others_cores(stats):.2f}",
                    " ".join(f"{run.requests_per_s:.0f}" for run in measured.runs[(side, n)]),
                )
            )
    return attempt_report.table(THROUGHPUT_COLUMNS, rows)


CENSUS_COLUMNS = (
    ("rules", 5),
    ("looked up", 9),
    ("expected", 8),
    ("evaluated", 9),
    ("evaluations", 11),
    ("awards offered | new", 20),
    ("SQL/att all | badges", 20),
    ("ms/att", 6),
    ("CPU ms/att bench | PG", 21),
    ("badge ms", 8),
    ("others", 6),
)

# Short headers for badge_census.PHASES, in order.
PHASE_HEADERS = (
    "index",
    "parse",
    "facts",
    "evaluate",
    "insert",
    "rest",
)
PHASE_COLUMNS = (("rules", 5), *((name, 8) for name in PHASE_HEADERS))


def census_tables(measured: Measured, expected: dict[int, float]) -> str:
    counts, phases = [], []
    for n, census in sorted(measured.census.items()):
        per = census.per_solving
        cpu = " | ".join(
            f"{census.ms_per_attempt(census.cpu_s.get(group, float('nan'))):.2f}"
            for group in ("bench", "postgres")
        )
        counts.append(
            (
                str(n),
                f"{per(census.candidates):.1f}",
                f"{expected[n]:.1f}",
                f"{per(census.rules_evaluated):.1f}",
                f"{per(census.evaluations):.1f}",
                f"{per(census.awards_offered):.1f} | {per(census.awards_new):.3f}",
                f"{census.statements / census.attempts:.1f} | {per(census.badge_statements):.1f}",
                f"{census.ms_per_attempt(census.attempt_s):.2f}",
                cpu,
                f"{per(1000 * census.badge_s):.3f}",
                f"{census.others_cores:.2f}",
            )
        )
        phases.append(
            (str(n), *(f"{per(1000 * census.phase_s[name]):.3f}" for name in badge_census.PHASES))
        )
    return "\n".join(
        [
            attempt_report.table(CENSUS_COLUMNS, counts),
            "looked up: rules the in-memory index gave a solving attempt (expected: from the"
            " catalog); evaluated: those whose award the learner does not hold yet and that"
            " a quick check finds reached (built in full); awards:"
            " earned evaluations offered to the INSERT, rows new; ms/att and CPU: per"
            " attempt (solving or not); badge ms: award_for_attempt per solving attempt;"
            " others: cores other processes used",
            "",
            "Badge step of a solving attempt by phase, ms (same pass; index: the version check,"
            " a reload when rules changed, the lookup; facts: the one statement of facts and held"
            " awards; rest: building Facts, results, the probes)",
            attempt_report.table(PHASE_COLUMNS, phases),
        ]
    )


def expected_lookups(
    catalog: list[badge_catalog.CreatedRule], plan: Plan, rules: list[int]
) -> dict[int, float]:
    """Rules a solving attempt on a uniformly random task looks up, from the catalog alone."""
    themes = [task.theme_id for task in plan.tasks]
    found = {}
    for n in rules:
        active = [rule.spec for rule in catalog[:n]]
        hits = sum(
            badge_catalog.touched_by(spec, theme, plan.content)
            for theme in themes
            for spec in active
        )
        found[n] = hits / len(themes)
    return found


def report(
    args: argparse.Namespace,
    plan: Plan,
    catalog: list[badge_catalog.CreatedRule],
    measured: Measured,
    command: list[str],
) -> str:
    verdicts = {side: verdict(measured, side, args.rules) for side in SIDES}
    expected = expected_lookups(catalog, plan, args.rules)
    output = RESULTS / "badge_rules.json"
    attempt_report.write_json(
        output,
        {
            "meta": {
                **run_environment.describe(),
                "duration_s": args.duration,
                "clients": args.clients,
                "repeats": args.repeats,
                "solved_share": SOLVED_SHARE,
                "dataset": {
                    "active_tasks": len(plan.tasks),
                    "sections": len(plan.content.sections),
                    "themes": len(plan.content.themes),
                    "users": page_dataset.USERS,
                    "learners_with_progress": page_dataset.USERS_WITH_PROGRESS,
                },
                "server_command": " ".join(command[2:]),
                "catalog": {
                    str(n): {
                        **badge_catalog.composition(catalog, n),
                        "expected_looked_up_per_solving_attempt": round(expected[n], 2),
                    }
                    for n in args.rules
                },
                "rules": [
                    {"key": rule.key, "type": rule.spec.type, "criteria": rule.spec.criteria}
                    for rule in catalog
                ],
            },
            "runs": {
                side: {
                    str(n): {
                        "counted": measured.best(side, n).as_dict(),
                        "slowdown_vs_0": round(slowdown(measured, side, n), 4),
                        "all": [run.as_dict() for run in measured.runs[(side, n)]],
                    }
                    for n in args.rules
                }
                for side in SIDES
            },
            "census": {str(n): c.as_dict() for n, c in sorted(measured.census.items())},
            "targets": {side: v.as_dict() for side, v in verdicts.items()},
            "profile_summary": measured.profile,
        },
    )
    parts = [
        f"submitAttempt with N active badge rules ({args.clients} clients, each its own learner;"
        f" {SOLVED_SHARE:.0%} solving; {args.duration:g} s per run, fastest of {args.repeats})",
        throughput_table(measured, args.rules),
        "slowdown: att/s at 0 rules / att/s at N; p50 x, p99 x: latency at N / at 0",
        *(v.line() for v in verdicts.values()),
        "",
        f"What the badge step did (domain layer, 1 learner, {args.census} attempts one at a time;"
        " per solving attempt unless 'att')",
        census_tables(measured, expected),
    ]
    if measured.profile:
        parts += [
            "",
            f"Profile of the badge step at {max(args.rules)} rules (pyinstrument, the census pass"
            " again; shares, not speeds)",
            "\n".join(measured.profile.splitlines()[: 2 + 14 + 1 + 26]),
            f"reports: {RESULTS / 'badge_rules_profile'}.summary.txt, .txt, .html",
        ]
    return "\n".join(parts) + f"\n\nresults: {output}\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.profile and importlib.util.find_spec("pyinstrument") is None:
        loadgen.say("--profile needs pyinstrument: .venv/bin/pip install pyinstrument")
        return 2
    # A SIGTERM (timeout, CI) unwinds like Ctrl-C: the server and the database go away.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    RESULTS.mkdir(parents=True, exist_ok=True)
    with page_dataset.scratch_database(os.environ.get("DATABASE_URL")) as database:
        started = time.perf_counter()
        uvloop.run(page_dataset.load(database.url))
        plan = uvloop.run(make_plan(database.url, args))
        catalog = uvloop.run(_create_catalog(database.url, plan))
        loadgen.say(
            f"loaded the dataset and {len(catalog)} rules in {time.perf_counter() - started:.1f} s"
        )
        port = server_process.free_port()
        command = server_process.uvicorn_command(port)
        log = RESULTS / "badge_rules_server.log"
        with server_process.running(command, port, database.url, log) as server:
            measured = uvloop.run(measure(args, database, plan, server, catalog))
    sys.stdout.write("\n" + report(args, plan, catalog, measured, command))
    return 0


async def _create_catalog(database_url: str, plan: Plan) -> list[badge_catalog.CreatedRule]:
    engine = attempt_sides.domain_engine(database_url)
    try:
        return await badge_catalog.create(engine, badge_catalog.catalog(plan.content))
    finally:
        await engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
