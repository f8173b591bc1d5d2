"""The schema extension that answers queries with one SQL statement (compiler/)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from auth.tokens import map_link_token
from compiler.execute import NotCompilable, compile_operation, run
from compiler.plan import plan_operation
from resolvers.context import Context
from resolvers.errors import ApiError


class CompiledReads(SchemaExtension):
    """Queries are planned, compiled and run here; a query with a field no compiler answers yet
    (introspection) is left to Strawberry's executor. Runs after every refusal that can happen
    before execution (sign-in, limits, cost)."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        request: Context = context.context
        if (context.result is None and context.graphql_document is not None and request.pool is not None
                and request.caller is not None and context.operation_type is OperationType.QUERY):
            try:
                # graphql-core's schema (Strawberry keeps it as _schema): coercion and types come from it.
                operation = plan_operation(context.schema._schema, context.graphql_document, context.operation_name,
                                           context.variables or {})
                viewer = request.caller

                def map_link() -> tuple[str, str]:
                    base = str(request.request.base_url).rstrip("/") if request.request is not None else ""
                    return base, map_link_token(request.jwt_secret, viewer)

                sql, build = compile_operation(operation, viewer, map_link if request.request is not None else None)
                data, errors = await run(request.pool, sql, build, operation)
            except NotCompilable:
                pass
            except ApiError as error:
                context.result = ExecutionResult(
                    data=None, errors=[GraphQLError(str(error), original_error=error, extensions={"code": error.code})])
            except GraphQLError as error:
                context.result = ExecutionResult(data=None, errors=[error])
            else:
                context.result = ExecutionResult(data=data, errors=errors or None)
        yield
