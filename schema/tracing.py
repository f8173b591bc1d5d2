"""A span per GraphQL operation, current while it runs, so the SQL statement it sends (asyncpg's
instrumentation) is its child. Strawberry's OpenTelemetryExtension opens an operation span but
never makes it current — only resolvers' spans hang below it — and compiled reads have no
resolvers: their statement would hang below the HTTP request instead."""

from __future__ import annotations

from collections.abc import Iterator

from opentelemetry import context as otel_context
from opentelemetry import trace
from strawberry.extensions import SchemaExtension

_tracer = trace.get_tracer("perisai.graphql")


class OperationSpans(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        span = _tracer.start_span("GraphQL operation", kind=trace.SpanKind.INTERNAL)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield
        finally:
            context = self.execution_context
            result = context.result
            if result is not None and result.errors:
                codes = sorted({str((e.extensions or {}).get("code", "INTERNAL_SERVER_ERROR")) for e in result.errors})
                span.set_attribute("graphql.error.codes", codes)
                span.set_status(trace.Status(trace.StatusCode.ERROR, ", ".join(codes)))
            otel_context.detach(token)
            span.end()

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        span = trace.get_current_span()
        kind = context.operation_type.value
        name = context.operation_name
        span.update_name(f"{kind} {name}" if name else kind)  # OpenTelemetry's GraphQL span name
        span.set_attribute("graphql.operation.type", kind)
        if name:
            span.set_attribute("graphql.operation.name", name)
        yield
