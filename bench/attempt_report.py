"""The attempt benchmark's tables, its two targets, and the results file."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import attempt_dataset
import loadgen

HTTP_TARGET_CLIENTS = 8
HTTP_TARGET = 0.5  # issue 6: HTTP throughput at 8 clients ≥ 0.5× the floor's
FLATNESS_LIMIT = 1.2  # issue 3: cost per attempt at the largest table ≤ 1.2× the smallest's


@dataclass(frozen=True)
class Comparison:
    floor: loadgen.RunStats
    domain: loadgen.RunStats
    http: loadgen.RunStats

    @property
    def runs(self) -> tuple[loadgen.RunStats, ...]:
        return (self.floor, self.domain, self.http)

    @property
    def http_ratio(self) -> float:
        return self.http.requests_per_s / self.floor.requests_per_s

    @property
    def domain_ratio(self) -> float:
        return self.domain.requests_per_s / self.floor.requests_per_s

    def as_dict(self) -> dict[str, Any]:
        return {
            "clients": self.floor.clients,
            "floor": self.floor.as_dict(),
            "domain": self.domain.as_dict(),
            "http": self.http.as_dict(),
            "http_floor_ratio": round(self.http_ratio, 4),
            "domain_floor_ratio": round(self.domain_ratio, 4),
        }


@dataclass(frozen=True)
class Flatness:
    rows: int  # attempts in the table when the runs started
    fill: attempt_dataset.Fill  # what the preload took
    repeats: list[loadgen.RunStats]

    @property
    def stats(self) -> loadgen.RunStats:
        """The cheapest repeat: other processes can only have slowed the others down."""
        return min(self.repeats, key=_ms_per_attempt)

    @property
    def ms_per_attempt(self) -> float:
        """Wall time per attempt with all clients busy: the inverse of throughput."""
        return _ms_per_attempt(self.stats)

    def cpu_ms_per_attempt(self, group: str) -> float:
        return 1000 * self.stats.cpu_s.get(group, float("nan")) / self.stats.requests

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "preload": {
                "added": self.fill.added,
                "insert_s": round(self.fill.insert_s, 2),
                "vacuum_analyze_s": round(self.fill.vacuum_s, 2),
                "checkpoint_s": round(self.fill.checkpoint_s, 2),
            },
            "ms_per_attempt": round(self.ms_per_attempt, 4),
            "postgres_cpu_ms_per_attempt": round(self.cpu_ms_per_attempt("postgres"), 4),
            "bench_cpu_ms_per_attempt": round(self.cpu_ms_per_attempt("bench"), 4),
            "counted_run": self.repeats.index(self.stats),
            "runs": [run.as_dict() for run in self.repeats],
        }


def _ms_per_attempt(stats: loadgen.RunStats) -> float:
    return 1000 * stats.seconds / stats.requests


@dataclass(frozen=True)
class Verdict:
    target: str
    value: float | None  # None: not measured in this run
    limit: float
    passed: bool | None

    def line(self) -> str:
        if self.value is None:
            return f"{self.target}: not measured in this run"
        return f"{self.target}: {self.value:.3f} -> {'PASS' if self.passed else 'FAIL'}"

    def as_dict(self) -> dict[str, Any]:
        value = None if self.value is None else round(self.value, 4)
        return {"target": self.target, "value": value, "limit": self.limit, "pass": self.passed}


def http_verdict(comparisons: Sequence[Comparison]) -> Verdict:
    target = (
        f"HTTP throughput at {HTTP_TARGET_CLIENTS} clients / floor's"
        f" (issue 6 target: >= {HTTP_TARGET})"
    )
    found = [row for row in comparisons if row.floor.clients == HTTP_TARGET_CLIENTS]
    if not found:
        return Verdict(target, None, HTTP_TARGET, None)
    ratio = found[0].http_ratio
    return Verdict(target, ratio, HTTP_TARGET, ratio >= HTTP_TARGET)


def flatness_verdict(runs: Sequence[Flatness]) -> Verdict:
    target = f"cost per attempt, largest table / smallest (issue 3 target: <= {FLATNESS_LIMIT})"
    if len(runs) < 2:
        return Verdict(target, None, FLATNESS_LIMIT, None)
    ordered = sorted(runs, key=lambda run: run.rows)
    ratio = ordered[-1].ms_per_attempt / ordered[0].ms_per_attempt
    return Verdict(target, ratio, FLATNESS_LIMIT, ratio <= FLATNESS_LIMIT)


COMPARISON_COLUMNS = (
    ("clients", 7),
    ("floor att/s", 11),
    ("p50/p99 ms", 13),
    ("domain att/s", 12),
    ("p50/p99 ms", 13),
    ("HTTP att/s", 10),
    ("p50/p99 ms", 13),
    ("HTTP/floor", 10),
    ("domain/floor", 12),
)


def comparison_table(comparisons: Sequence[Comparison]) -> str:
    rows = [
        (
            str(row.floor.clients),
            f"{row.floor.requests_per_s:.1f}",
            _latency(row.floor),
            f"{row.domain.requests_per_s:.1f}",
            _latency(row.domain),
            f"{row.http.requests_per_s:.1f}",
            _latency(row.http),
            f"{row.http_ratio:.3f}",
            f"{row.domain_ratio:.3f}",
        )
        for row in comparisons
    ]
    return table(COMPARISON_COLUMNS, rows)


CPU_COLUMNS = (
    ("clients", 7),
    ("floor bench | PG", 16),
    ("domain bench | PG", 17),
    ("HTTP server | bench | PG", 24),
    ("others, cores: floor | domain | HTTP", 36),
)


def cpu_table(comparisons: Sequence[Comparison]) -> str:
    rows = [
        (
            str(row.floor.clients),
            _cpu(row.floor, "bench", "postgres"),
            _cpu(row.domain, "bench", "postgres"),
            _cpu(row.http, "server", "bench", "postgres"),
            " | ".join(f"{loadgen.others_cores(run):.2f}" for run in row.runs),
        )
        for row in comparisons
    ]
    return table(CPU_COLUMNS, rows)


def _cpu(stats: loadgen.RunStats, *groups: str) -> str:
    return " | ".join(
        f"{1000 * stats.cpu_s.get(group, float('nan')) / stats.requests:.2f}" for group in groups
    )


FLATNESS_COLUMNS = (
    ("rows at start", 13),
    ("att/s", 8),
    ("p50/p99 ms", 13),
    ("ms/attempt", 10),
    ("PG CPU ms/att", 13),
    ("bench CPU ms/att", 16),
    ("others, cores", 13),
    ("insert+vacuum s", 15),
)


def flatness_table(runs: Sequence[Flatness]) -> str:
    rows = [
        (
            f"{run.rows:,}",
            f"{run.stats.requests_per_s:.1f}",
            _latency(run.stats),
            f"{run.ms_per_attempt:.3f}",
            f"{run.cpu_ms_per_attempt('postgres'):.3f}",
            f"{run.cpu_ms_per_attempt('bench'):.3f}",
            f"{loadgen.others_cores(run.stats):.2f}",
            f"{run.fill.insert_s:.1f} + {run.fill.vacuum_s:.1f}",
        )
        for run in runs
    ]
    return table(FLATNESS_COLUMNS, rows)


def _latency(stats: loadgen.RunStats) -> str:
    return f"{stats.p50_ms:.2f} / {stats.p99_ms:.2f}"


def table(columns: tuple[tuple[str, int], ...], rows: Sequence[tuple[str, ...]]) -> str:
    def line(cells: tuple[str, ...]) -> str:
        pairs = zip(cells, columns, strict=True)
        return " | ".join(cell.rjust(width) for cell, (_, width) in pairs)

    header = line(tuple(name for name, _ in columns))
    return "\n".join([header, "-" * len(header), *(line(row) for row in rows)])


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
