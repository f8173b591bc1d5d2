"""The schema extension that answers queries with one SQL statement (compiler/)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, NoReturn

from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from compiler.execute import run
from compiler.payload import Compiled, build_for
from compiler.templates import Templates
from resolvers.context import Context
from resolvers.errors import ApiError, BadUserInput

# One per process, like graphql-core's caches of parsed and validated documents.
TEMPLATES = Templates()


class CompiledReads(SchemaExtension):
    """Queries are planned, compiled and run here, as one SQL statement. Only a query of schema
    introspection alone (__schema, __type: GraphiQL, code generators) is left to graphql-core's
    executor. Runs after every refusal that can happen before execution (sign-in, limits, cost).
    A query it answered is marked on the request (`Context.compiled_document`): the HTTP view
    admits its document to the shorter path of schema/admitted.py."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        request: Context = context.context
        if (context.result is None and context.graphql_document is not None and request.caller is not None
                and context.operation_type is OperationType.QUERY):
            # graphql-core's schema (Strawberry keeps it as _schema): coercion and types come from it.
            result = await answer_compiled(context.schema._schema, context.graphql_document, context.operation_name,
                                           context.variables or {}, request)
            if result is not None:
                context.result = result
                request.compiled_document = context.graphql_document
        yield


async def answer_compiled(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                          variables: dict[str, Any], request: Context) -> ExecutionResult | None:
    """A query's answer from one compiled statement; None for a query of schema introspection alone."""
    try:
        statement = TEMPLATES.statement(schema, document, operation_name, variables, request.viewer,
                                        build_for(request).map_link)
        if statement is None:
            return None
        data, errors = await request.read(lambda pool: run(pool, statement))
        return ExecutionResult(data=data, errors=errors or None)
    except ApiError as error:
        return ExecutionResult(
            data=None, errors=[GraphQLError(str(error), original_error=error, extensions={"code": error.code})])
    except GraphQLError as error:
        return ExecutionResult(data=None, errors=[error])


class OperationInfo(SchemaExtension):
    """Tells the HTTP view the operation's name and kind (query, mutation, subscription) once the
    document is parsed, for metrics: the name clients write in the document, not only the
    optional `operationName` of the request."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if isinstance(context.context, Context):
            context.context.operation_kind = context.operation_type.value
            context.context.operation_name = context.operation_name
        yield


class NamedOperation(SchemaExtension):
    """A document of several operations runs the one `operationName` names, as GraphQL requires;
    without a name Strawberry would run the first (a mutation the client did not choose, say)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # Strawberry keeps the request's own operationName apart from the name it guesses.
        if context.result is None and document is not None and getattr(context, "_provided_operation_name", None) is None:
            names = [d.name.value if d.name else "(anonymous)" for d in document.definitions
                     if isinstance(d, OperationDefinitionNode)]
            if len(names) > 1:
                error = BadUserInput(f"the document has {len(names)} operations ({', '.join(names[:10])}); "
                                     "name the one to run in operationName", field="operationName")
                refusal = GraphQLError(str(error), original_error=error,
                                       extensions={"code": error.code, "field": error.field})
                if context.operation_type is OperationType.SUBSCRIPTION:
                    raise refusal  # Strawberry ignores a result set here for subscriptions, not an error raised
                context.result = ExecutionResult(data=None, errors=[refusal])
        yield


class CompiledValues(SchemaExtension):
    """Below a value the compiler built (what a mutation returns, what a subscription yields),
    every field is answered from that value by its response key: no resolver runs."""

    def resolve(self, _next: Callable[..., Any], root: Any, info: GraphQLResolveInfo, *args: Any, **kwargs: Any) -> Any:
        # A subscription's root value is its event's payload itself: the field returns it whole.
        if isinstance(root, Compiled) and info.parent_type is not info.schema.subscription_type:
            return _leaf(get_named_type(info.return_type), root.answer(info.path.key))  # type: ignore[arg-type]
        return _next(root, info, *args, **kwargs)


_BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}


def _leaf(kind: Any, value: Any) -> Any:
    """A JSON leaf as the value graphql-core serialises: an enum's Python value from its name, a
    custom scalar (dates, UUIDs) parsed from its JSON form."""
    if value is None or not isinstance(kind, (GraphQLEnumType, GraphQLScalarType)) or kind.name in _BUILT_IN:
        return value
    if isinstance(value, list):
        return [_leaf(kind, v) for v in value]
    if isinstance(kind, GraphQLEnumType):
        return kind.values[value].value
    return kind.parse_value(value)


def by_compiler() -> NoReturn:
    """The body of every read field's resolver. Resolvers here only declare a field's arguments
    for the schema: queries are answered by one compiled statement, and what mutations and
    subscriptions return is compiled too (CompiledValues answers the fields below it)."""
    raise RuntimeError("read fields are answered by the compiler (compiler/); this resolver never runs")
