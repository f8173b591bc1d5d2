"""OpenTelemetry traces, off unless PERISAI_OTEL_TRACES_ENDPOINT names an OTLP/HTTP collector
(e.g. http://otel-collector:4318/v1/traces). Each request is a span (ASGI instrumentation), each
GraphQL operation a span below it (schema/tracing.py), each SQL statement a span below that
(asyncpg instrumentation: the statement text, never its parameters). Each worker process exports
its own spans in batches."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

SERVICE = "perisai-coverage"


def start_tracing(endpoint: str) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    AsyncPGInstrumentor().instrument(tracer_provider=provider)
