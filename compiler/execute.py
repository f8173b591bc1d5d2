"""Compile a planned query into one statement, run it, and settle what it left to Python.

The statement returns one JSON text per root field. When nothing was deferred (no error markers,
no Python-computed values) the texts go into the response as they are; otherwise the JSON is
walked once: each marker becomes null plus an error at its path (propagated to the nearest
nullable parent, as GraphQL requires), or the value its function computes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from graphql import GraphQLError, GraphQLNonNull, GraphQLType, is_list_type, is_non_null_type

import metrics
from compiler import alerts, analytics, coverage, entities, roots, scenarios, snapshots  # noqa: F401  # they register the field compilers
from compiler.objects import FIELDS
from compiler.plan import TYPENAME, Field, Operation
from compiler.sql import MARKER, Build, Deferred, Path, quoted
from db.access import Viewer
from db.engine import is_statement_timeout
from resolvers.errors import ApiError, QueryTooComplex


def structural(type_name: str) -> bool:
    """Connections, edges and page info are built by compiler.connection around their nodes."""
    return type_name.endswith(("Connection", "Edge")) or type_name == "PageInfo"


def missing(fields: tuple[Field, ...], type_name: str) -> str | None:
    """The first selected field below `type_name` that has no compiler, or None."""
    for f in fields:
        if f.name == TYPENAME:
            continue
        if f.name.startswith("__"):
            return f.name  # introspection: graphql-core answers it
        if not structural(type_name) and (type_name, f.name) not in FIELDS:
            return f"{type_name}.{f.name}"
        for below, sub in f.below.items():
            if (gap := missing(sub, below)) is not None:
                return gap
    return None


def _root_value(b: Build, root: str, f: Field) -> str:
    if f.name == TYPENAME:
        return f"to_json(CAST({quoted(root)} AS text))"
    return FIELDS[(root, f.name)](b, f, "q", (f.key,))


def compile_operation(operation: Operation, viewer: Viewer,
                      map_link: Callable[[], tuple[str, str]] | None = None) -> tuple[str, Build]:
    """The statement (one text column per root field) and what it deferred."""
    gap = missing(operation.fields, operation.root.name)
    assert gap is None, f"{gap} has no compiler (tests/test_compiler_schema.py should have failed)"
    b = Build(viewer, map_link)
    root = operation.root.name
    columns = [f"CAST({_root_value(b, root, f)} AS text)" for f in operation.fields]
    return "SELECT " + ", ".join(columns), b


@dataclass(frozen=True)
class Statement:
    """A compiled query ready to run: its text and parameters, its deferred values, and its plan."""

    operation: Operation
    sql: str
    values: list[Any]
    deferred: list[Deferred]


async def run_statement(pool: asyncpg.Pool, b: Build, sql: str) -> Any:
    """The statement's one row (a timeout is QUERY_TOO_COMPLEX)."""
    return await fetch_row(pool, *b.params.finish(sql))


async def fetch_row(pool: asyncpg.Pool, statement: str, values: list[Any]) -> Any:
    """The statement's one row (a timeout is QUERY_TOO_COMPLEX)."""
    try:
        async with pool.acquire() as connection:
            metrics.observe_pool(pool.get_size(), pool.get_idle_size())
            with metrics.statement_seconds.time():
                return await connection.fetchrow(statement, *values)
    except asyncpg.PostgresError as exc:
        if is_statement_timeout(exc):
            raise QueryTooComplex("the database stopped this query after the per-request time limit; "
                                  "narrow it (filters, smaller pages, simpler geometry)") from exc
        raise


async def run(pool: asyncpg.Pool, statement: Statement) -> tuple[dict[str, Any] | None, list[GraphQLError]]:
    """The response's data and errors."""
    operation = statement.operation
    row = await fetch_row(pool, statement.sql, statement.values)
    texts = list(row.values()) if row is not None else [None] * len(operation.fields)
    if not statement.deferred or not any(t is not None and MARKER in t for t in texts):
        # Fragments go into the response as they are: parsing the database's JSON only to encode it
        # again held the nested peer workload at ~1,200 req/s (~1,600 without; BENCHMARKS.md).
        return {f.key: orjson.Fragment(t) if t is not None else None for f, t in zip(operation.fields, texts, strict=True)}, []
    settle = _Settle(statement.deferred)
    data: dict[str, Any] | None = {}
    for f, text in zip(operation.fields, texts, strict=True):
        value, bubble = await settle.value(orjson.loads(text) if text is not None else None, f, (f.key,))
        if bubble:
            data = None  # a non-null root field is null: so is the whole response's data
        if data is not None:
            data[f.key] = value
    return data, settle.errors


class _Settle:
    def __init__(self, deferred: list[Deferred]) -> None:
        self.deferred = deferred
        self.errors: list[GraphQLError] = []

    async def value(self, value: Any, f: Field, path: Path) -> tuple[Any, bool]:
        """The settled value of field `f` at `path`, and whether a null must propagate upwards."""
        if isinstance(value, dict) and MARKER in value:
            value = await self._marker(value, path)
        if f.definition is None:
            return value, False
        return await self._typed(value, f, f.definition.type, path)

    async def _marker(self, marker: dict[str, Any], path: Path) -> Any:
        deferred = self.deferred[marker[MARKER]]
        try:
            if deferred.compute is None:
                return deferred.settle(marker.get("inputs"))  # an error: raises
            # Off the event loop: an exact siting solve may take seconds.
            return await asyncio.to_thread(deferred.settle, marker.get("inputs"))
        except ApiError as error:
            self.errors.append(GraphQLError(str(error), nodes=list(deferred.nodes), path=list(path),
                                            original_error=error, extensions={"code": error.code}))
            return None

    async def _typed(self, value: Any, f: Field, kind: GraphQLType, path: Path) -> tuple[Any, bool]:
        non_null = is_non_null_type(kind)
        inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
        if value is None:
            return None, non_null
        if is_list_type(inner):
            items = []
            for i, item in enumerate(value):
                if isinstance(item, dict) and MARKER in item:
                    item = await self._marker(item, (*path, i))
                settled, bubble = await self._typed(item, f, inner.of_type, (*path, i))
                if bubble:
                    return None, non_null
                items.append(settled)
            return items, False
        if not f.below or not isinstance(value, dict):
            return value, False
        fields = {sub.key: sub for subs in f.below.values() for sub in subs}
        for key, item in list(value.items()):
            sub = fields.get(key)
            if sub is None:
                continue
            settled, bubble = await self.value(item, sub, (*path, key))
            if bubble:
                return None, non_null
            value[key] = settled
        return value, False
