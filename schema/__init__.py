"""Strawberry types, inputs, scalars, extensions and the Schema."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from schema.errors import ErrorCodes, code_in_place
from schema.limits import QueryCost, depth_and_aliases
from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import SCALARS
from schema.signin import RequireSignIn
from schema.subscription import Subscription


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


def build_schema(*, production: bool, limits: Limits = Limits()) -> strawberry.Schema:
    # Factories, not instances: an extension keeps per-request state, so each request needs its own.
    extensions: list[Callable[[], SchemaExtension]] = [
        ErrorCodes,
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        *depth_and_aliases(limits.max_depth, limits.max_aliases),
        RequireSignIn,
        lambda: QueryCost(limits.max_cost),
    ]
    if production:
        extensions.append(DisableIntrospection)
    config = StrawberryConfig(auto_camel_case=True, scalar_map=SCALARS)
    return Schema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions, config=config
    )


schema = build_schema(production=False)
