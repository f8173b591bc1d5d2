"""Strawberry types, inputs, scalars, extensions and the Schema."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from schema.compiled import CompiledReads
from schema.errors import ErrorCodes, code_in_place
from schema.limits import QueryCost, depth_and_aliases
from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import SCALARS
from schema.signin import RequireSignIn
from schema.subscription import Subscription

PARSED_DOCUMENTS = 512  # distinct query texts kept parsed and validated, per process


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


@dataclass(frozen=True)
class Limits:
    max_depth: int = 20
    max_tokens: int = 5_000
    max_aliases: int = 30
    max_cost: int = 500_000  # like GitHub's node limit: rows, page sizes multiplied along nesting


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # Subscription results never pass through ErrorCodes.on_operation; code them here.
        if (execution_context is not None and execution_context.graphql_document is not None
                and execution_context.operation_type is OperationType.SUBSCRIPTION):
            for error in errors:
                code_in_place(error)
        super().process_errors(errors, execution_context)


def build_schema(*, production: bool, limits: Limits = Limits(), compile_reads: bool = True) -> strawberry.Schema:
    # Factories, not instances: an extension keeps per-request state, so each request needs its own.
    # Parsing and validation are cached per query text (bounded LRU): clients repeat the same
    # documents with new variables, and variables are checked at execution (QueryCost included).
    extensions: list[Callable[[], SchemaExtension]] = [
        ErrorCodes,
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: CachedParser(maxsize=PARSED_DOCUMENTS),
        depth_and_aliases(limits.max_depth, limits.max_aliases),
        lambda: ValidationCache(maxsize=PARSED_DOCUMENTS),
        RequireSignIn,
        lambda: QueryCost(limits.max_cost),
    ]
    if production:
        extensions.append(DisableIntrospection)
    if compile_reads:
        extensions.append(CompiledReads)  # last: after every refusal that can happen before execution
    config = StrawberryConfig(auto_camel_case=True, scalar_map=SCALARS)
    return Schema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions, config=config
    )


schema = build_schema(production=False)
