"""The checks that depend on a request's variables, and the short path for admitted queries.

Every check of a document alone (tokens, parsing, shape limits, validation, introspection in
production, registered documents) gives the same answer for the same text, so once a query's
text has passed all of them and the compiler has answered it, the HTTP view admits it: later
requests with the same text and operation name skip Strawberry's operation pipeline (its
extension hooks, result handling and request parsing were about a quarter of a worker's CPU on
the nested peer workload; BENCHMARKS.md) and run only what depends on the request: sign-in (in
the view), the checks `request_checks` lists, and the compiled statement. Both paths run the same
checks from that one list, and the same `answer_compiled`; errors are coded by the same `coded`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from resolvers.context import Context
from schema.compiled import answer_compiled
from schema.errors import coded
from schema.limits import PARSED_DOCUMENTS, cost_refusal
from schema.unstorable import unstorable_refusal

# A check of one request: (document, operation name, variables, schema) → its refusal, or None.
Check = Callable[[DocumentNode, str | None, dict[str, Any], GraphQLSchema], ExecutionResult | None]


def request_checks(max_cost: int) -> tuple[Check, ...]:
    """Every check that depends on the variables, in the order they run: the estimated cost, then
    text PostgreSQL cannot store."""
    return (partial(cost_refusal, max_cost=max_cost),
            lambda document, _name, variables, _schema: unstorable_refusal(document, variables))


def refusal(checks: tuple[Check, ...], document: DocumentNode, operation_name: str | None,
            variables: dict[str, Any], schema: GraphQLSchema) -> ExecutionResult | None:
    """The first check's refusal, or None when every check passes."""
    for check in checks:
        if (refused := check(document, operation_name, variables, schema)) is not None:
            return refused
    return None


class RequestChecks(SchemaExtension):
    """The checks of `checks` before every operation's execution (queries, mutations, subscriptions)."""

    def __init__(self, checks: tuple[Check, ...]) -> None:
        self.checks = checks

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.result is None and context.graphql_document is not None:
            context.result = refusal(self.checks, context.graphql_document, context.operation_name,
                                     context.variables or {}, context.schema._schema)
        yield


@dataclass(frozen=True)
class AdmittedQuery:
    document: DocumentNode
    # The operation the full path ran: the request's operationName or, without one, the name of
    # the document's only operation (NamedOperation refuses several); also the metrics' label.
    name: str | None


class Admitted:
    """Query texts (with the request's operation name) that passed every check of a document alone;
    the most recently used PARSED_DOCUMENTS of them, like the parser's and validation's caches."""

    def __init__(self, size: int = PARSED_DOCUMENTS) -> None:
        self.size = size
        self._queries: OrderedDict[tuple[str, str | None], AdmittedQuery] = OrderedDict()

    def get(self, text: str, operation_name: str | None) -> AdmittedQuery | None:
        query = self._queries.get((text, operation_name))
        if query is not None:
            self._queries.move_to_end((text, operation_name))
        return query

    def admit(self, text: str, operation_name: str | None, request: Context) -> None:
        """Admit the request's text when the compiler answered it (after every check passed)."""
        if request.compiled_document is None:
            return
        self._queries[text, operation_name] = AdmittedQuery(request.compiled_document, request.operation_name)
        if len(self._queries) > self.size:
            self._queries.popitem(last=False)


async def answer_admitted(query: AdmittedQuery, variables: dict[str, Any], request: Context, schema: GraphQLSchema,
                          checks: tuple[Check, ...], hide_suggestions: bool) -> ExecutionResult | None:
    """The answer of an admitted query, or None when these variables make it a query the compiler
    leaves to graphql-core (introspection alone, through @include/@skip): then run the full path."""
    request.operation_kind, request.operation_name = "query", query.name
    try:
        result = refusal(checks, query.document, query.name, variables, schema) or \
            await answer_compiled(schema, query.document, query.name, variables, request)
    except Exception as exc:  # as Strawberry does: coded below (masked, or UNAVAILABLE in an outage)
        result = ExecutionResult(data=None, errors=[GraphQLError(str(exc), original_error=exc)])
    if result is not None and result.errors:
        result.errors = coded(result.errors, hide_suggestions)
    return result
