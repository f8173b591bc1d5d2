"""Strawberry types, inputs, scalars and the Schema."""

from __future__ import annotations

import strawberry
from strawberry.extensions import DisableIntrospection
from strawberry.schema.config import StrawberryConfig

from schema.query import Query


def build_schema(*, production: bool) -> strawberry.Schema:
    extensions = [DisableIntrospection()] if production else []
    return strawberry.Schema(query=Query, extensions=extensions, config=StrawberryConfig(auto_camel_case=True))


schema = build_schema(production=False)
