"""Strawberry types, inputs, scalars, extensions and the Schema."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from strawberry.extensions import DisableIntrospection, MaxTokensLimiter, SchemaExtension
from strawberry.schema.config import StrawberryConfig

from schema.errors import ErrorCodes
from schema.limits import QueryCost, depth_and_aliases
from schema.query import Query
from schema.signin import RequireSignIn


@dataclass(frozen=True)
class Limits:
    max_depth: int = 20
    max_tokens: int = 5_000
    max_aliases: int = 30
    max_cost: int = 500_000  # like GitHub's node limit: rows, page sizes multiplied along nesting


def build_schema(*, production: bool, limits: Limits = Limits()) -> strawberry.Schema:
    extensions: list[SchemaExtension | type[SchemaExtension]] = [
        ErrorCodes(),
        MaxTokensLimiter(max_token_count=limits.max_tokens),
        *depth_and_aliases(limits.max_depth, limits.max_aliases),
        RequireSignIn(),
        QueryCost(limits.max_cost),
    ]
    if production:
        extensions.append(DisableIntrospection())
    return strawberry.Schema(query=Query, extensions=extensions, config=StrawberryConfig(auto_camel_case=True))


schema = build_schema(production=False)
