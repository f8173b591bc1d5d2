"""Traces as an OpenTelemetry collector receives them: the server exports OTLP/HTTP to a local
collector written here, and the test reads the spans of one request from what arrived."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import data, post, running_server


class Collector:
    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                request = ExportTraceServiceRequest()
                request.ParseFromString(self.rfile.read(int(self.headers["content-length"])))
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            collector.spans.append({
                                "name": span.name, "trace": span.trace_id.hex(), "id": span.span_id.hex(),
                                "parent": span.parent_span_id.hex(),
                                "attributes": {a.key: _value(a.value) for a in span.attributes},
                            })
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/v1/traces"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


def _value(value: Any) -> Any:
    if value.HasField("array_value"):
        return [_value(v) for v in value.array_value.values]
    return value.string_value or value.int_value


@pytest.fixture(scope="module")
def traced(shared_demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Collector]]:
    collector = Collector()
    with running_server(shared_demo_db, tmp_path_factory.mktemp("traced"), PERISAI_OTEL_TRACES_ENDPOINT=collector.url,
                        OTEL_BSP_SCHEDULE_DELAY="100") as base:
        yield base, collector
    collector.http.shutdown()


def spans_of(collector: Collector, predicate: Any, timeout: float = 15) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [s for s in collector.spans if predicate(s)]
        if found:
            return found
        time.sleep(0.1)
    return []


def test_one_request_is_one_trace_http_then_graphql_then_its_sql(traced: tuple[str, Collector]) -> None:
    server, collector = traced
    assert data(server, "query TracedProvinces { provinces { totalCount } }")["provinces"]["totalCount"] > 0
    operation = spans_of(collector, lambda s: s["name"] == "query TracedProvinces")
    assert len(operation) == 1, [s["name"] for s in collector.spans]
    graphql = operation[0]
    assert graphql["attributes"]["graphql.operation.name"] == "TracedProvinces"
    in_trace = {s["id"]: s for s in collector.spans if s["trace"] == graphql["trace"]}
    parent = in_trace.get(graphql["parent"])
    assert parent is not None and parent["name"].startswith("POST /graphql")  # the HTTP request (ASGI)
    statements = spans_of(collector, lambda s: s["parent"] == graphql["id"])
    assert statements and all(s["attributes"].get("db.system") == "postgresql" or
                              s["attributes"].get("db.system.name") == "postgresql" for s in statements)
    text = " ".join(str(s["attributes"].get("db.statement") or s["attributes"].get("db.query.text")) for s in statements)
    assert "SELECT" in text and "province" in text  # the compiled statement itself, below its operation


def test_an_error_marks_the_operation_span(traced: tuple[str, Collector]) -> None:
    server, collector = traced
    post(server, 'query TracedBad { village(code: "x") { code } }')
    span = spans_of(collector, lambda s: s["name"] == "query TracedBad")
    assert span and span[0]["attributes"]["graphql.error.codes"] == ["BAD_USER_INPUT"]
