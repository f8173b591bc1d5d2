"""The schema extension that answers compilable reads with one SQL statement (resolvers/compiled.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from resolvers.compiled import compiled_data
from resolvers.errors import QueryTooComplex


class CompiledReads(SchemaExtension):
    """Reads that `resolvers.compiled` can build whole are answered by one SQL statement; the
    rest, and anything refused before execution (cost, sign-in), take the ordinary path."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        if context.result is None and context.graphql_document is not None:
            try:
                # graphql-core's schema, to coerce variables as its executor does (Strawberry keeps it as _schema)
                data = await compiled_data(context.context, context.schema._schema, context.graphql_document,
                                           context.operation_name, context.variables or {})
            except QueryTooComplex as error:
                context.result = ExecutionResult(
                    data=None, errors=[GraphQLError(str(error), original_error=error, extensions={"code": error.code})])
            else:
                if data is not None:
                    context.result = ExecutionResult(data=data, errors=None)
        yield
