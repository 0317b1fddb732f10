"""Where a domain-layer attempt's time goes: py-spy sampling this process, one client.

py-spy samples from outside the process, so nothing is hooked into the code it measures.
(pyinstrument, a tracing profiler, slowed this workload about 3x and charged the time spent
waiting for PostgreSQL to the asyncpg frame that resumed.) py-spy drops samples where the
thread is idle (waiting in epoll), so the samples show where the process was busy. Each
sample is charged to the innermost frame that belongs to a known owner (learntrack,
SQLAlchemy, asyncpg, the event loop, this benchmark); standard-library frames count for
their caller.
"""

import asyncio
import os
import re
import shutil
import signal
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import loadgen

RATE = 500  # samples per second
TOP_FUNCTIONS = 12
# Side.run: (clients, duration, cpu) -> stats
RunOnce = Callable[[int, float, loadgen.CpuMeter], Awaitable[loadgen.RunStats]]

SQLALCHEMY = "SQLAlchemy (Core execute, result, pool, greenlet bridge)"
NO_FRAME = "no readable stack (domain side only: SQLAlchemy's greenlets)"
ASYNCPG = "asyncpg (Python, C protocol, socket writes to PostgreSQL)"
LOOP = "event loop (uvloop; asyncpg's C protocol reading replies)"
OWNERS = (
    ("sqlalchemy/", SQLALCHEMY),
    ("greenlet/", SQLALCHEMY),
    ("asyncpg/", ASYNCPG),
    ("domain/", "learntrack domain/"),
    ("db/", "learntrack db/"),
    ("uvloop/", LOOP),
    ("asyncio/runners.py", LOOP),
    ("loadgen.py", "benchmark client"),
    ("attempt_", "benchmark client"),
)
_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*):(?P<line>\d+)\)$")


def find_py_spy() -> str | None:
    """``$PY_SPY``, else ``py-spy`` on PATH or beside this Python."""
    beside = Path(sys.executable).with_name("py-spy")
    return (
        os.environ.get("PY_SPY")
        or shutil.which("py-spy")
        or (str(beside) if beside.exists() else None)
    )


@dataclass(frozen=True)
class Profile:
    stats: loadgen.RunStats
    by_owner: Counter[str]  # samples
    by_function: Counter[str]  # samples, by innermost frame
    raw: Path

    def ms_per_attempt(self, samples: int) -> float:
        return 1000 * samples / RATE / self.stats.requests

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.stats.as_dict(),
            "rate_hz": RATE,
            "samples": sum(self.by_owner.values()),
            "busy_ms_per_attempt_by_owner": {
                owner: round(self.ms_per_attempt(n), 4) for owner, n in self.by_owner.most_common()
            },
            "raw_stacks": str(self.raw),
        }


async def profile(
    py_spy: str, run: RunOnce, duration: float, cpu: loadgen.CpuMeter, output: Path
) -> Profile:
    """Run ``run`` at one client while py-spy samples this process; read the stacks."""
    raw = output.with_suffix(".txt")  # collapsed stacks: flamegraph.pl or speedscope read them
    command = [py_spy, "record", f"--pid={os.getpid()}", f"--rate={RATE}"]
    command += ["--format=raw", f"--output={raw}"]
    spy = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert spy.stdout is not None
    started = await asyncio.wait_for(spy.stdout.readline(), timeout=30)  # "Sampling process ..."
    if b"Sampling" not in started:
        rest = await spy.stdout.read()
        raise RuntimeError(f"py-spy did not start: {(started + rest).decode()[:500]}")
    try:
        stats = await run(1, duration, cpu)
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        await spy.communicate()
    by_owner, by_function = read_stacks(raw)
    return Profile(stats, by_owner, by_function, raw)


def read_stacks(raw: Path) -> tuple[Counter[str], Counter[str]]:
    """Samples by owner and by innermost function, from py-spy's collapsed stacks."""
    by_owner: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        frames = [frame for frame in stack.split(";") if frame.strip()]
        by_owner[_owner(frames)] += samples
        by_function[_short(frames[-1]) if frames else NO_FRAME] += samples
    return by_owner, by_function


def _owner(frames: list[str]) -> str:
    if not frames:
        # Seen only on the domain side, never on the floor: py-spy finds no frame to
        # walk while the thread runs SQLAlchemy's greenlet machinery (the pool's checkout
        # and return), so these count for SQLAlchemy's asyncio layer.
        return NO_FRAME
    for frame in reversed(frames):
        match = _FRAME.match(frame)
        path = match["path"] if match else ""
        for prefix, owner in OWNERS:
            if path.startswith(prefix) or f"/{prefix}" in path:
                return owner
    return "other (Python standard library, interpreter)"


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    return f"{match['function']}  {match['path']}:{match['line']}" if match else frame


def breakdown(
    measured: Profile,
    floor: loadgen.RunStats | None,
    domain: loadgen.RunStats | None,
    round_trips: float,
) -> str:
    """What the final report prints: CPU per attempt, then the sampled busy time by owner."""
    stats = measured.stats
    lines = [
        f"Where a domain-layer attempt's time goes (1 client, py-spy at {RATE} Hz;"
        f" {round_trips:g} round trips per attempt: the statements, BEGIN and COMMIT)",
        "  per attempt                              wall ms   bench CPU ms   PG CPU ms",
    ]
    for label, run in (
        ("floor, unprofiled (bare asyncpg)", floor),
        ("domain, unprofiled (pool + domain)", domain),
        ("domain, profiled", stats),
    ):
        if run is not None:
            lines.append(_per_attempt(label, run))
    if floor and domain:
        extra = _cpu_ms(domain, "bench") - _cpu_ms(floor, "bench")
        lines.append(
            f"  the domain side's Python costs {extra:.3f} ms more CPU per attempt than the"
            f" floor's: {1000 * extra / round_trips:.0f} µs per round trip"
        )
    busy = sum(measured.by_owner.values())
    lines += ["", "  sampled busy time of the profiled run, per attempt, by owner:"]
    for owner, samples in measured.by_owner.most_common():
        ms = measured.ms_per_attempt(samples)
        trips = (
            f"{1000 * ms / round_trips:5.0f} µs/round trip"
            if owner in (SQLALCHEMY, ASYNCPG)
            else ""
        )
        lines.append(f"    {owner:<58} {ms:6.3f} ms {samples / busy:6.1%}  {trips}".rstrip())
    lines += [
        "  (asyncpg's __do_execute self time is the write() that hands a statement to",
        "  PostgreSQL; it grows when the cores are contended: the woken backend can take",
        "  the CPU before write() returns)",
        "",
        "  innermost functions (self time):",
    ]
    for function, samples in measured.by_function.most_common(TOP_FUNCTIONS):
        lines.append(f"    {function[:78]:<78} {samples / busy:6.1%}")
    lines.append(f"  stacks: {measured.raw}")
    return "\n".join(lines)


def _per_attempt(label: str, stats: loadgen.RunStats) -> str:
    wall = 1000 * stats.seconds / stats.requests
    bench, pg = _cpu_ms(stats, "bench"), _cpu_ms(stats, "postgres")
    return f"    {label:<40} {wall:7.3f} {bench:14.3f} {pg:11.3f}"


def _cpu_ms(stats: loadgen.RunStats, group: str) -> float:
    return 1000 * stats.cpu_s.get(group, float("nan")) / stats.requests
