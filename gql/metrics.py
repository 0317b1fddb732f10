"""Prometheus metrics of this process: requests, latency, error codes, database pool, and
the workers of its supervisor (shared by every worker, so any of them reports the same).

Label values come from a closed set (known routes, error codes) or are bounded (operation
names), so a client cannot grow the series without limit by inventing names.
"""

import re
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from db import health as db_health
from db.engine import Database
from gql import workers
from gql.request_log import RequestRecord

ROUTES = ("/graphql", "/healthz", "/readyz", "/metrics")
GRAPHIQL_ASSETS = "/graphiql"
METHODS = ("GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE")
MAX_OPERATION_NAMES = 200
OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")


class PoolCollector(Collector):
    """Reads the pool when scraped, so the numbers are current and cost nothing between."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        status = db_health.pool_status(self.database)
        size = GaugeMetricFamily("learntrack_db_pool_size", "Configured connections per process.")
        size.add_metric([], status.size)
        connections = GaugeMetricFamily(
            "learntrack_db_pool_connections",
            "Open database connections by state (overflow: beyond the pool size).",
            labels=["state"],
        )
        connections.add_metric(["in_use"], status.in_use)
        connections.add_metric(["idle"], status.idle)
        connections.add_metric(["overflow"], status.overflow)
        yield size
        yield connections


class WorkerCollector(Collector):
    """Reads the supervisor's board when scraped; yields nothing when not supervised."""

    def collect(self) -> Iterator[Metric]:
        board = workers.current_board()
        if board is None:
            return
        yield CounterMetricFamily(
            "learntrack_worker_restarts",
            "Worker processes the supervisor replaced after they died.",
            value=board.restarts.value,
        )
        yield GaugeMetricFamily(
            "learntrack_workers_serving", "Worker processes serving now.", value=board.serving()
        )
        yield GaugeMetricFamily(
            "learntrack_workers_expected", "Worker processes configured.", value=board.expected
        )


class Metrics:
    def __init__(self, database: Database) -> None:
        # One registry per app, not the global one: tests build many apps in one process.
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "learntrack_http_requests",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.graphql_requests = Counter(
            "learntrack_graphql_requests",
            "GraphQL requests by operation name and HTTP status.",
            ["operation", "status"],
            registry=self.registry,
        )
        self.graphql_latency = Histogram(
            "learntrack_graphql_request_duration_seconds",
            "GraphQL request latency by operation name.",
            ["operation"],
            registry=self.registry,
        )
        self.graphql_errors = Counter(
            "learntrack_graphql_errors",
            "Errors in GraphQL responses and refusals, by code.",
            ["code"],
            registry=self.registry,
        )
        self.registry.register(PoolCollector(database))
        self.registry.register(WorkerCollector())
        self.operation_names: set[str] = set()
        # Each labelled child, kept once made: labels() checks and locks on every call.
        self._children: dict[tuple[object, ...], Any] = {}

    def _child(self, metric: Counter | Histogram, *labels: str) -> Any:
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def _operation_label(self, name: str | None) -> str:
        if name is None:
            return "anonymous"
        if not OPERATION_NAME.fullmatch(name):
            return "invalid"
        if name not in self.operation_names:
            if len(self.operation_names) >= MAX_OPERATION_NAMES:
                return "other"
            self.operation_names.add(name)
        return name

    def observe(self, record: RequestRecord) -> None:
        if record.path in ROUTES:
            route = record.path
        elif record.path.startswith(GRAPHIQL_ASSETS + "/"):
            route = GRAPHIQL_ASSETS
        else:
            route = "other"
        status = str(record.status)
        method = record.method if record.method in METHODS else "other"
        self._child(self.http_requests, route, method, status).inc()
        if route != "/graphql":
            return
        operation = self._operation_label(record.operation_name)
        self._child(self.graphql_requests, operation, status).inc()
        self._child(self.graphql_latency, operation).observe(record.duration_ms / 1000)
        for code in record.error_codes:
            self._child(self.graphql_errors, code).inc()

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
