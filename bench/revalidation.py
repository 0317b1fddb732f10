"""Benchmark: revalidating the course page (304) vs fetching it uncached, both over GET.

    .venv/bin/python bench/revalidation.py [--duration SECONDS] [--clients 1,8]

Same data and server as course_page.py. Both sides send the page query as an automatic
persisted query (the hash in the URL, the protocol Apollo clients speak): "uncached"
without a validator, so every request runs the query; "304" with ``If-None-Match`` holding
the learner's current ETag, so every request is answered "not modified" after one SQL
statement. Target (issue 6): 304s at >= 5x the uncached throughput. See bench/README.md.
"""

import argparse
import asyncio
import hashlib
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import uvloop

import loadgen
import page_dataset
import page_graphql
import raw_http
import run_environment
import server_process
from gql import auth
from gql.ids import to_global_id
from gql.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 5.0
QUERY_HASH = hashlib.sha256(page_graphql.TREE_QUERY.encode()).hexdigest()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument(
        "--clients",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 8],
        help="comma-separated client counts (default 1,8)",
    )
    return parser.parse_args(argv)


class PersistedPageClient:
    """One keep-alive connection asking for the page by its APQ hash, as Apollo would."""

    def __init__(self, connection: raw_http.Connection, course_id: uuid.UUID) -> None:
        self.connection = connection
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": QUERY_HASH}}
        self.params = {
            "variables": orjson.dumps({"id": to_global_id("Course", course_id)}).decode(),
            "extensions": orjson.dumps(extensions).decode(),
        }
        # Prepared per learner before the clock starts: the client's own work is not measured.
        self.plain: dict[uuid.UUID, bytes] = {}
        self.conditional: dict[uuid.UUID, bytes] = {}

    @classmethod
    async def open(cls, base_url: str, course_id: uuid.UUID) -> "PersistedPageClient":
        return cls(await raw_http.Connection.open(base_url), course_id)

    async def learn(self, user_id: uuid.UUID, token: str) -> bytes:
        """The learner's page and ETag; the hash is registered on the way if need be."""
        headers = {"authorization": token}
        self.plain[user_id] = self.connection.get_request("/graphql", self.params, headers)
        answer = await self.connection.send(self.plain[user_id])
        if b"PERSISTED_QUERY_NOT_FOUND" in answer.body[:200]:
            # A worker that has not seen the hash yet: send the query along, once.
            params = {**self.params, "query": page_graphql.TREE_QUERY}
            answer = await self.connection.send(
                self.connection.get_request("/graphql", params, headers)
            )
        if answer.status != 200 or "etag" not in answer.headers:
            raise RuntimeError(f"/graphql answered {answer.status}: {answer.body[:300]!r}")
        self.conditional[user_id] = self.connection.get_request(
            "/graphql", self.params, {**headers, "if-none-match": answer.headers["etag"]}
        )
        return answer.body

    async def fetch(self, user_id: uuid.UUID) -> None:
        answer = await self.connection.send(self.plain[user_id])
        if answer.status != 200:
            raise RuntimeError(f"/graphql answered {answer.status}: {answer.body[:300]!r}")

    async def revalidate(self, user_id: uuid.UUID) -> None:
        answer = await self.connection.send(self.conditional[user_id])
        if answer.status != 304:
            raise RuntimeError(f"expected 304, got {answer.status}: {answer.body[:300]!r}")

    async def close(self) -> None:
        await self.connection.close()


@dataclass(frozen=True)
class Pair:
    uncached: loadgen.RunStats
    revalidated: loadgen.RunStats

    @property
    def ratio(self) -> float:
        return self.revalidated.requests_per_s / self.uncached.requests_per_s

    def as_dict(self) -> dict[str, Any]:
        return {
            "clients": self.uncached.clients,
            "uncached": self.uncached.as_dict(),
            "revalidated_304": self.revalidated.as_dict(),
            "ratio": round(self.ratio, 2),
            "pass": self.ratio >= TARGET,
        }


async def run_pair(
    clients: int,
    duration: float,
    server: server_process.Server,
    dataset: page_dataset.Dataset,
    tokens: dict[uuid.UUID, str],
    cpu: loadgen.CpuMeter,
) -> Pair:
    pool = [
        await PersistedPageClient.open(server.base_url, dataset.course_id) for _ in range(clients)
    ]
    learners = dataset.learners
    try:
        # Untimed, all clients at once (an idle keep-alive connection would be closed):
        # checks a full answer, learns each learner's tag, warms the connections.
        await asyncio.gather(*(_learn(c, learners[i::clients], tokens) for i, c in enumerate(pool)))
        uncached = await loadgen.closed_loops(
            [_loop(learners[i::clients], c.fetch) for i, c in enumerate(pool)],
            duration=duration,
            cpu=cpu,
        )
        revalidated = await loadgen.closed_loops(
            [_loop(learners[i::clients], c.revalidate) for i, c in enumerate(pool)],
            duration=duration,
            cpu=cpu,
        )
        return Pair(uncached, revalidated)
    finally:
        for client in pool:
            await client.close()


async def _learn(
    client: PersistedPageClient, mine: list[uuid.UUID], tokens: dict[uuid.UUID, str]
) -> None:
    for user in mine:
        if loadgen.count_tasks(await client.learn(user, tokens[user])) != page_dataset.TOTAL_TASKS:
            raise RuntimeError("the page does not hold every task")


def _loop(mine: list[uuid.UUID], send: Any) -> loadgen.Request:
    # Each client keeps to its own learners (whose tags it holds), rotating through them.
    index = 0

    async def request() -> None:
        nonlocal index
        await send(mine[index % len(mine)])
        index += 1

    return request


async def measure(
    args: argparse.Namespace,
    database: page_dataset.ScratchDatabase,
    dataset: page_dataset.Dataset,
    server: server_process.Server,
) -> list[Pair]:
    settings = Settings()
    tokens = {
        user: f"Bearer {auth.mint_token(settings, user_id=user)}" for user in dataset.learners
    }
    cpu = loadgen.CpuMeter(
        trees={"server": server.pid, "postgres": database.postmaster_pid},
        single={"bench": os.getpid()},
    )
    pairs = []
    for clients in args.clients:
        pair = await run_pair(clients, args.duration, server, dataset, tokens, cpu)
        pairs.append(pair)
        loadgen.say(
            f"clients={clients}: uncached {pair.uncached.requests_per_s} req/s,"
            f" 304 {pair.revalidated.requests_per_s} req/s"
        )
    return pairs


def table(pairs: list[Pair]) -> str:
    """One row per side and client count, then the ratio and the verdict per client count."""
    header = (
        f"{'clients':>7} | {'side':>8} | {'req/s':>8} | {'p50 / p99 ms':>15} |"
        f" {'server CPU ms/req':>17} | {'PG CPU ms/req':>13} | {'bench CPU':>9}"
    )
    lines = [header, "-" * len(header)]
    for pair in pairs:
        for side, stats in (("uncached", pair.uncached), ("304", pair.revalidated)):
            lines.append(
                f"{stats.clients:>7} | {side:>8} | {stats.requests_per_s:>8.1f} |"
                f" {stats.p50_ms:>6.2f} / {stats.p99_ms:>6.2f} |"
                f" {_per_request_ms(stats, 'server'):>17} |"
                f" {_per_request_ms(stats, 'postgres'):>13} | {_cores(stats, 'bench'):>9}"
            )
    lines.append("")
    for pair in pairs:
        verdict = "PASS" if pair.ratio >= TARGET else "FAIL"
        lines.append(
            f"{pair.uncached.clients} client(s): 304 throughput = {pair.ratio:.1f}x uncached"
            f" (target >= {TARGET:.0f}x): {verdict}"
        )
    return "\n".join(lines)


def _per_request_ms(stats: loadgen.RunStats, group: str) -> str:
    seconds = stats.cpu_s.get(group)
    return "n/a" if seconds is None else f"{seconds / stats.requests * 1000:.3f}"


def _cores(stats: loadgen.RunStats, group: str) -> str:
    # The load generator shares the machine: its share of a core shows what it took.
    seconds = stats.cpu_s.get(group)
    return "n/a" if seconds is None else f"{seconds / stats.seconds:.0%}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with page_dataset.scratch_database(os.environ.get("DATABASE_URL")) as database:
        started = time.perf_counter()
        dataset = uvloop.run(page_dataset.load(database.url))
        loadgen.say(f"loaded the dataset in {time.perf_counter() - started:.1f} s")
        port = server_process.free_port()
        command = server_process.uvicorn_command(port)
        log = RESULTS / "revalidation_server.log"
        with server_process.running(command, port, database.url, log) as server:
            pairs = uvloop.run(measure(args, database, dataset, server))
    output = RESULTS / "revalidation.json"
    meta = {
        **run_environment.describe(),
        "duration_s": args.duration,
        "server_command": " ".join(command[2:]),
        "target_ratio": TARGET,
    }
    document = {"meta": meta, "runs": [pair.as_dict() for pair in pairs]}
    output.write_text(json.dumps(document, indent=2, default=str) + "\n")
    sys.stdout.write("\n" + table(pairs) + f"\n\nresults: {output}\n")
    return 0 if all(pair.ratio >= TARGET for pair in pairs) else 1


if __name__ == "__main__":
    sys.exit(main())
