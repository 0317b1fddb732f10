"""The comparison table and the results file."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import attempt_report
import loadgen

# Issue 6, target 1.
P50_LIMIT = 3.0  # at 1 client, the learntrack p50 / the floor's
THROUGHPUT_TARGET = 0.30  # at 8 clients, learntrack req/s / the floor's


@dataclass(frozen=True)
class Comparison:
    floor: loadgen.RunStats
    api: loadgen.RunStats

    @property
    def throughput_ratio(self) -> float:
        return self.api.requests_per_s / self.floor.requests_per_s

    @property
    def p50_ratio(self) -> float:
        return self.api.p50_ms / self.floor.p50_ms

    def as_dict(self) -> dict[str, Any]:
        return {
            "clients": self.api.clients,
            "floor": self.floor.as_dict(),
            "learntrack": self.api.as_dict(),
            "throughput_ratio": round(self.throughput_ratio, 4),
            "p50_ratio": round(self.p50_ratio, 2),
        }


COLUMNS = (
    ("clients", 7),
    ("floor req/s", 11),
    ("floor p50/p99 ms", 16),
    ("learntrack req/s", 16),
    ("p50/p99 ms", 15),
    ("req/s lt/floor", 14),
    ("p50 lt/floor", 12),
    ("server CPU s", 15),
    ("PG CPU s floor|lt", 17),
)


def table(comparisons: list[Comparison]) -> str:
    """A plain-text table, one row per client count."""
    header = _line(tuple(name for name, _ in COLUMNS))
    lines = [header, "-" * len(header)]
    for row in comparisons:
        cells = (
            str(row.api.clients),
            f"{row.floor.requests_per_s:.1f}",
            f"{row.floor.p50_ms:.1f} / {row.floor.p99_ms:.1f}",
            f"{row.api.requests_per_s:.1f}",
            f"{row.api.p50_ms:.1f} / {row.api.p99_ms:.1f}",
            f"{row.throughput_ratio:.3f}",
            f"{row.p50_ratio:.1f}x",
            _cpu_cell(row.api, "server"),
            f"{_cpu(row.floor, 'postgres')} | {_cpu(row.api, 'postgres')}",
        )
        lines.append(_line(cells))
    return "\n".join(lines)


def verdicts(comparisons: list[Comparison]) -> list[attempt_report.Verdict]:
    """Target 1's two halves: latency alone (1 client) and throughput (8 clients)."""
    by_clients = {row.api.clients: row for row in comparisons}
    alone, busy = by_clients.get(1), by_clients.get(8)
    p50 = alone.p50_ratio if alone is not None else None
    throughput = busy.throughput_ratio if busy is not None else None
    return [
        attempt_report.Verdict(
            "uncached page p50 at 1 client / floor's (issue 6 target: <= 3)",
            p50,
            P50_LIMIT,
            None if p50 is None else p50 <= P50_LIMIT,
        ),
        attempt_report.Verdict(
            "uncached page req/s at 8 clients / floor's (issue 6 target: >= 0.30)",
            throughput,
            THROUGHPUT_TARGET,
            None if throughput is None else throughput >= THROUGHPUT_TARGET,
        ),
    ]


def _line(cells: tuple[str, ...]) -> str:
    pairs = zip(cells, COLUMNS, strict=True)
    return " | ".join(cell.rjust(width) for cell, (_, width) in pairs)


def _cpu(stats: loadgen.RunStats, group: str) -> str:
    seconds = stats.cpu_s.get(group)
    return "n/a" if seconds is None else f"{seconds:.1f}"


def _cpu_cell(stats: loadgen.RunStats, group: str) -> str:
    # Seconds and the share of one core over the run: 100% means one core fully busy.
    seconds = stats.cpu_s.get(group)
    if seconds is None:
        return "n/a"
    return f"{seconds:.1f} ({seconds / stats.seconds:.0%})"


def write_json(path: Path, comparisons: list[Comparison], meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"meta": meta, "runs": [row.as_dict() for row in comparisons]}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
