"""Answer a whole read with one SQL statement when `db.compiled` can build all of it.

The document has been parsed and validated (and its cost checked) by then. Only plain selections
compile: no fragments, directives or introspection, every variable given and of its declared
type (coerced as the executor would; a refused one falls back for its error); only callers who see
every row (admins and planners), so no scoping is needed beyond what the SQL already does. A
root the database lacks falls back too, so errors (NOT_FOUND, …) come from the ordinary path.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    value_from_ast_untyped,
)
from graphql.execution.values import get_variable_values

from db.access import Role
from db.compiled import NotCompilable, Selected, compile_read, run_compiled
from db.engine import is_statement_timeout
from resolvers.context import Context
from resolvers.errors import QueryTooComplex


def plan(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
         variables: dict[str, Any]) -> tuple[Selected, ...]:
    """The root fields of the operation as `Selected` trees; NotCompilable for anything else."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != len(document.definitions):
        raise NotCompilable("fragments")
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if len(chosen) != 1 or chosen[0].operation is not OperationType.QUERY or chosen[0].directives:
        raise NotCompilable("not one plain query")
    missing = [v.variable.name.value for v in chosen[0].variable_definitions or () if v.variable.name.value not in variables]
    if missing:
        raise NotCompilable("a variable left to its default")
    # Coerced as graphql-core's executor would (`true` is no Int, `"1.5"` no Float); a variable it
    # refuses leaves the request to the ordinary path, which reports it.
    coerced = get_variable_values(schema, chosen[0].variable_definitions or (), variables)
    if isinstance(coerced, list):
        raise NotCompilable("variables the schema refuses")
    return _unique(tuple(_selected(node, coerced.coerced) for node in chosen[0].selection_set.selections))


def _unique(fields: tuple[Selected, ...]) -> tuple[Selected, ...]:
    """GraphQL merges fields that share a response key; the compiler does not, so it declines them."""
    if len({f.key for f in fields}) != len(fields):
        raise NotCompilable("two fields with one response key")
    return fields


def _selected(node: Any, variables: dict[str, Any]) -> Selected:
    if not isinstance(node, FieldNode) or node.directives or node.name.value.startswith("__"):
        raise NotCompilable("fragments, directives or introspection")
    args = {}
    for argument in node.arguments or ():
        if isinstance(argument.value, VariableNode) and argument.value.name.value not in variables:
            raise NotCompilable("an undeclared variable")
        args[argument.name.value] = value_from_ast_untyped(argument.value, variables)
    children = _unique(tuple(_selected(child, variables) for child in node.selection_set.selections)
                       if node.selection_set else ())
    return Selected(node.name.value, node.alias.value if node.alias else node.name.value, args, children)


async def compiled_data(context: Context, schema: GraphQLSchema, document: DocumentNode,
                        operation_name: str | None, variables: dict[str, Any]) -> dict[str, Any] | None:
    """The response's `data` built by one statement (JSON text per root field, already encoded),
    or None: resolve it the usual way."""
    if context.pool is None or context.caller is None or context.caller.role not in (Role.ADMIN, Role.PLANNER):
        return None
    try:
        roots = plan(schema, document, operation_name, variables)
        sql, params = compile_read(roots)
    except NotCompilable:
        return None
    try:
        texts = await run_compiled(context.pool, sql, params)
    except asyncpg.PostgresError as exc:
        if is_statement_timeout(exc):
            raise QueryTooComplex("the database stopped this query after the per-request time limit; "
                                  "narrow it (smaller pages, simpler geometry)") from exc
        raise
    if any(text is None for text in texts):
        return None
    # Fragments go into the response as they are: parsing the database's JSON only to encode it
    # again held the nested peer workload at ~1,200 req/s (~1,600 without; BENCHMARKS.md).
    return {root.key: orjson.Fragment(text) for root, text in zip(roots, texts, strict=True)}
