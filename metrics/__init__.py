"""Prometheus metrics, defined once; every layer records into them, `/metrics` exposes them.

Several worker processes (`perisai serve --workers N`) share one view through prometheus-client's
multiprocess mode: the parent sets PROMETHEUS_MULTIPROC_DIR before starting workers (it must be
set before this module is imported), each worker writes its own files, and a scrape of any worker
sums them. Without the variable (one process) the default registry is used.
"""

from __future__ import annotations

import functools
import os
import re
from typing import TypeVar

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.metrics import MetricWrapperBase

M = TypeVar("M", bound=MetricWrapperBase)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

http_requests = Counter("perisai_http_requests_total", "HTTP requests by route template and status",
                        ["route", "status"])
http_seconds = Histogram("perisai_http_request_seconds", "HTTP request time by route template", ["route"],
                         buckets=_LATENCY_BUCKETS)
operations = Counter("perisai_graphql_operations_total", "GraphQL operations by name, type and outcome "
                     "(ok or the first error's code)", ["operation", "type", "outcome"])
operation_seconds = Histogram("perisai_graphql_operation_seconds", "GraphQL operation time, sign-in to answer",
                              ["operation", "type"], buckets=_LATENCY_BUCKETS)
admitted = Counter("perisai_graphql_admitted_queries_total", "Queries answered by the short path, their text "
                   "having passed every check of a document alone before (schema/admitted.py)")
templates = Counter("perisai_graphql_compiled_queries_total", "Queries whose statement was compiled, or reused "
                    "from an earlier request of the same document with other values (compiler/templates.py)",
                    ["how"])
errors = Counter("perisai_graphql_errors_total", "GraphQL errors by extensions.code", ["code"])
statement_seconds = Histogram("perisai_db_statement_seconds", "Time of the one statement of a compiled read",
                              buckets=_LATENCY_BUCKETS)
pool_connections = Gauge("perisai_db_pool_connections", "Read pool connections by state, all workers",
                         ["state"], multiprocess_mode="livesum")

MAX_OPERATION_NAMES = 200  # distinct operation labels per process; later names count as "other"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_seen: set[str] = set()


def operation_label(name: str | None) -> str:
    """A bounded label for a client-chosen operation name (names are free text: never unbounded)."""
    if not name:
        return "anonymous"
    if name in _seen:
        return name
    if _NAME.fullmatch(name) and len(_seen) < MAX_OPERATION_NAMES:
        _seen.add(name)
        return name
    return "other"


@functools.cache  # every label value here is bounded (routes, statuses, codes, operation_label)
def child(metric: M, *labels: str) -> M:
    """`metric.labels(*labels)`, looked up once: `labels` validates and locks on every call."""
    return metric.labels(*labels)


_pool_seen: list[int] = [-1, -1]


def observe_pool(size: int, idle: int) -> None:
    """The read pool's busy and idle connections, written only when they change (each write is a
    locked write to this worker's file in multiprocess mode, on every statement)."""
    if _pool_seen != [size, idle]:
        _pool_seen[:] = size, idle
        child(pool_connections, "busy").set(size - idle)
        child(pool_connections, "idle").set(idle)


def exposition() -> bytes:
    """The text format of every metric, summed over worker processes when there are several."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(DEFAULT_REGISTRY)
