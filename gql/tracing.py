"""OpenTelemetry tracing, off unless ``LEARNTRACK_TRACING`` is on.

When on, each process (each ``serve`` worker) has a tracer provider of its own with:

- a span per HTTP request (``SERVER`` kind), continuing the trace a W3C ``traceparent``
  header names;
- a span per GraphQL operation (``query CoursePage``) with its name, type and estimated cost;
- a span per SQL statement, from OpenTelemetry's asyncpg instrumentation (which sees the
  statements sent through SQLAlchemy too, since its dialect drives asyncpg); statement
  parameters are never recorded.

The exporter is chosen by the standard ``OTEL_TRACES_EXPORTER`` (``otlp``, the default,
over HTTP/protobuf and configured by the ``OTEL_EXPORTER_OTLP_*`` variables; ``console``;
``none``), the service by ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``, batching
by ``OTEL_BSP_*``. With tracing off nothing of this runs: no provider, no instrumentation,
no span objects on the request path.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gql.settings import Settings

TRACER_NAME = "learntrack"


class ExporterUnknown(ValueError):
    pass


def _exporter_from_environment() -> SpanExporter | None:
    name = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if name == "otlp":
        # Imported only when used: it brings an HTTP client along.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if name == "console":
        return ConsoleSpanExporter()
    if name == "none":
        return None
    raise ExporterUnknown(
        f"OTEL_TRACES_EXPORTER={name!r} is not supported; use otlp, console or none"
    )


def tracer_provider(
    settings: Settings, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """The process's tracer provider when tracing is on (None when off). ``exporter``
    replaces the one ``OTEL_TRACES_EXPORTER`` names and exports each span as it ends."""
    if not settings.tracing:
        return None
    default = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: "learntrack"}
    provider = TracerProvider(resource=Resource.create(default))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        chosen = _exporter_from_environment()
        if chosen is not None:
            provider.add_span_processor(BatchSpanProcessor(chosen))
    instrumentor = _instrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()  # another app of this process: statements go to ours
    instrumentor.instrument(tracer_provider=provider)
    return provider


def _instrumentor() -> Any:
    # One per process (the instrumentor is a singleton patching asyncpg's classes).
    return AsyncPGInstrumentor()  # type: ignore[no-untyped-call]


def stop(provider: TracerProvider | None) -> None:
    """Flush and shut the provider down, and take the statement instrumentation off."""
    if provider is None:
        return
    instrumentor = _instrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    provider.shutdown()


class TracingMiddleware:
    """A ``SERVER`` span around each HTTP request, child of the caller's ``traceparent``."""

    def __init__(self, app: ASGIApp, tracer: trace.Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        method, path = scope["method"], scope["path"]
        with self.tracer.start_as_current_span(
            f"{method} {path}",
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        ) as span:

            async def send_recording_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            await self.app(scope, receive, send_recording_status)


@contextmanager
def operation_span(
    tracer: trace.Tracer | None, name: str | None, operation_type: str, cost: int | None
) -> Iterator[Any]:
    """A span for one GraphQL operation (nothing when tracing is off)."""
    if tracer is None:
        yield None
        return
    attributes: dict[str, Any] = {"graphql.operation.type": operation_type}
    if name is not None:
        attributes["graphql.operation.name"] = name
    if cost is not None:
        attributes["learntrack.query_cost"] = cost
    title = f"{operation_type} {name}" if name else operation_type
    with tracer.start_as_current_span(title, attributes=attributes) as span:
        yield span
