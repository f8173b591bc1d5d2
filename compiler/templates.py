"""Compiled statements reused across requests: a query is planned and compiled once for a document,
a caller and a day, and later requests whose variables differ only in values the statement takes
as parameters run the same statement with their own values.

The field compilers read arguments through `plan.Args`, which records every variable a read
depends on (and the planner records the variables of `@include`/`@skip`); an argument that only
becomes a parameter is read with `Build.bound` instead, which records a `Binding`: the argument
(one variable, or a value written around variables, such as a box of four), and the check
(validation, normalisation) that makes the parameters from it. A template therefore
answers any request with equal values of the variables read, whose bound values pass their checks:
the text, the plan and every other parameter are what compiling it again would give. A bound value
its check refuses is compiled again, so its error is reported where and as it always is. A
statement with a signed map link holds for one request and is never kept. This is the idea of
PostGraphile 5's operation plans, which are cached per document with constraints on variables.

Why it pays: planning and compiling took ~250 µs of the ~800 µs of CPU a worker spends on the
nested peer workload's request (BENCHMARKS.md).
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import DocumentNode, GraphQLError, GraphQLSchema

import metrics
from compiler.execute import Statement, compile_operation
from compiler.plan import Operation, chosen_operation, coerced_variables, planned
from compiler.sql import Binding, Build, Deferred
from db.access import Viewer
from resolvers.errors import ApiError, BadUserInput

MISSING = object()  # a variable the request leaves out (and that has no default)
DOCUMENTS = 500  # documents kept, most recently used first
VARIANTS = 4  # templates per document: a variable read by value (a page size, say) that takes many
# values makes its document compile every time, as before, instead of filling the cache
# A template keeps the request's variables (in its plan, its parameters): requests with larger ones
# (a detailed polygon, say) are compiled each time, so that the kept templates stay within a few
# hundred MB even when every request body is at PERISAI_MAX_REQUEST_BYTES.
MAX_KEPT_VARIABLE_BYTES = 64_000


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down (`1 == True == 1.0` in Python; not here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@dataclass(frozen=True)
class Template:
    operation: Operation
    sql: str
    values: tuple[Any, ...]  # every parameter the compilation added, bound ones as first compiled
    used: tuple[int, ...]  # those the statement's text keeps, in order (Params.finish)
    bindings: tuple[Binding, ...]
    deferred: tuple[Deferred, ...]
    reads: tuple[tuple[str, Any], ...]  # (variable, coerced value or MISSING) the statement depends on

    def matches(self, variables: dict[str, Any]) -> bool:
        return all(same(variables.get(name, MISSING), value) for name, value in self.reads)

    def statement(self, variables: dict[str, Any]) -> Statement | None:
        """The statement for these variables, or None when a bound value has another shape;
        ApiError or GraphQLError when one is refused."""
        values = list(self.values)
        for binding in self.bindings:
            bound = binding.values(variables)
            if bound is None:
                return None
            for index, value in zip(binding.indexes, bound, strict=True):
                values[index] = value
        return Statement(self.operation, self.sql, [values[i] for i in self.used], list(self.deferred))


def introspection_only(operation: Operation) -> bool:
    """Whether the query asks for the schema (__schema, __type) alone; BAD_USER_INPUT for a query
    that mixes it with data fields."""
    names = {f.name for f in operation.fields}
    if not names & {"__schema", "__type"}:
        return False
    if names - {"__schema", "__type", "__typename"}:
        raise BadUserInput("ask for the schema (__schema, __type) in a query of its own, without data fields",
                           field="__schema")
    return True


class Templates:
    """The templates of the most recently used documents, per operation name, caller and day (some
    checks compare dates with today)."""

    def __init__(self, documents: int = DOCUMENTS, variants: int = VARIANTS) -> None:
        self.documents = documents
        self.variants = variants
        self._kept: OrderedDict[Hashable, tuple[DocumentNode, list[Template]]] = OrderedDict()

    @staticmethod
    def _key(document: DocumentNode, operation_name: str | None, viewer: Viewer) -> Hashable:
        # Today: some checks compare dates with it. The document's identity: the parser's and the
        # admitted queries' caches hand out the same node for the same text.
        return id(document), operation_name, viewer, dt.date.today()

    def statement(self, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                  variables: dict[str, Any], viewer: Viewer,
                  map_link: Callable[[], tuple[str, str]] | None = None) -> Statement | None:
        """The statement answering the query, reused or compiled; None for a query of schema
        introspection alone (graphql-core answers it). GraphQLError for refused variables."""
        chosen = chosen_operation(document, operation_name)
        coerced = coerced_variables(schema, chosen, variables)
        if (statement := self.find(document, operation_name, viewer, coerced.coerced)) is not None:
            return statement
        operation = planned(schema, document, chosen, coerced)
        if introspection_only(operation):
            return None
        sql, b = compile_operation(operation, viewer, map_link)
        metrics.child(metrics.templates, "compiled").inc()
        return self.keep(document, operation_name, viewer, operation, sql, b)

    def find(self, document: DocumentNode, operation_name: str | None, viewer: Viewer,
             variables: dict[str, Any]) -> Statement | None:
        """The statement of a kept template for these (coerced) variables, or None: compile."""
        key = self._key(document, operation_name, viewer)
        kept = self._kept.get(key)
        if kept is None or kept[0] is not document:  # an id can be reused once a document is freed
            return None
        for template in kept[1]:
            if template.matches(variables):
                try:
                    statement = template.statement(variables)
                except (ApiError, GraphQLError):
                    break  # compiled again, the refusal is reported at its field as always
                if statement is None:
                    continue
                self._kept.move_to_end(key)
                metrics.child(metrics.templates, "reused").inc()
                return statement
        return None

    def keep(self, document: DocumentNode, operation_name: str | None, viewer: Viewer, operation: Operation,
             sql: str, b: Build) -> Statement:
        """The statement just compiled; kept as a template unless it holds for this request only."""
        statement_sql, used = b.params.finish_indexes(sql)
        values = b.params.values
        statement = Statement(operation, statement_sql, [values[i] for i in used], b.deferred)
        if b.linked or len(orjson.dumps(operation.variables, default=str)) > MAX_KEPT_VARIABLE_BYTES:
            return statement
        template = Template(operation, statement_sql, tuple(values), used, tuple(b.bindings), tuple(b.deferred),
                            tuple((name, operation.variables.get(name, MISSING)) for name in sorted(operation.reads)))
        key = self._key(document, operation_name, viewer)
        kept = self._kept.get(key)
        if kept is None or kept[0] is not document:
            kept = self._kept[key] = (document, [])
        kept[1].insert(0, template)
        del kept[1][self.variants:]
        self._kept.move_to_end(key)
        while len(self._kept) > self.documents:
            self._kept.popitem(last=False)
        return statement
