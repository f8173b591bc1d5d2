"""Strawberry types, inputs, scalars, extensions and the Schema."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.admitted import Check, RequestChecks, request_checks
from schema.compiled import CompiledReads, CompiledValues, NamedOperation, OperationInfo
from schema.errors import ErrorCodes, code_in_place
from schema.limits import PARSED_DOCUMENTS, Limits, guarded_validation
from schema.mutation import Mutation
from schema.query import Query
from schema.registered import RegisteredDocumentsOnly
from schema.scalars import SCALARS
from schema.subscription import Subscription
from schema.tracing import OperationSpans


class CachedParser(ParserCache):
    """Strawberry's parser cache, except that a document that does not parse is left to
    Strawberry's own parse step, which reports the error the usual way (with its code)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(context.query, **context.parse_options)
        except GraphQLError:
            pass
        yield


class Schema(strawberry.Schema):
    hide_suggestions = False
    request_checks: tuple[Check, ...] = ()  # what RequestChecks runs, and the HTTP view's admitted queries

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Code and log errors where Strawberry reports them (instead of its own traceback per
        error): this also reaches subscription results and exceptions raised by extensions, which
        never pass through ErrorCodes.on_operation."""
        code_in_place(errors, self.hide_suggestions)


def build_schema(*, production: bool, limits: Limits = Limits(),
                 registered_only: frozenset[str] | None = None, traced: bool = False) -> strawberry.Schema:
    """The schema; `registered_only`: the SHA-256 of the only documents that may run; `traced`:
    a span per operation (schema/tracing.py)."""
    # Factories, not instances: an extension keeps per-request state, so each request needs its own.
    # Parsing and validation are cached per query text (bounded LRU): clients repeat the same
    # documents with new variables, and variables are checked at execution (RequestChecks: the cost, NUL characters).
    # Sign-in and the byte ceiling are checked by the HTTP view, before any of this runs.
    checks = request_checks(limits.max_cost)
    extensions: list[Callable[[], SchemaExtension]] = [
        *([OperationSpans] if traced else []),
        lambda: ErrorCodes(hide_suggestions=production),
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: CachedParser(maxsize=PARSED_DOCUMENTS),
        guarded_validation(limits, hide_suggestions=production),
        NamedOperation,
        lambda: RequestChecks(checks),
        CompiledValues,
        OperationInfo,
    ]
    if production:
        extensions.append(DisableIntrospection)
    if registered_only is not None:
        extensions.append(lambda: RegisteredDocumentsOnly(registered_only))
    extensions.append(CompiledReads)  # last: after every refusal that can happen before execution
    config = StrawberryConfig(auto_camel_case=True, scalar_map=SCALARS)  # type: ignore[arg-type]  # keys are scalar classes
    built = Schema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions, config=config)
    built.hide_suggestions = production
    built.request_checks = checks
    return built


schema = build_schema(production=False)
