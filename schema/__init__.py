"""Strawberry types, inputs, scalars, extensions and the Schema."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import strawberry
from strawberry.extensions import (
    DisableIntrospection,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig

from schema.errors import ErrorCodes
from schema.limits import QueryCost, depth_and_aliases
from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import SCALARS
from schema.signin import RequireSignIn


@dataclass(frozen=True)
class Limits:
    max_depth: int = 20
    max_tokens: int = 5_000
    max_aliases: int = 30
    max_cost: int = 500_000  # like GitHub's node limit: rows, page sizes multiplied along nesting


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
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions, config=config)


schema = build_schema(production=False)
