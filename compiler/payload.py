"""Compiled values inside Strawberry's own execution: what a mutation returns and what a
subscription yields.

A mutation writes, then the selection below its field is compiled for the written row and read
in one statement; a subscription does the same for each event. The JSON comes back as a
`Compiled` object, and the `CompiledValues` extension answers every field below it by its response
key, so no field below resolves row by row: markers (errors, values computed in Python) are
settled where graphql-core meets them, with its own error paths and null propagation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from graphql import GraphQLResolveInfo
from graphql.execution.values import VariableValues

from auth.tokens import map_link_token
from compiler.execute import run_statement
from compiler.objects import object_json
from compiler.plan import Field, Planner
from compiler.sql import MARKER, TYPE_KEY, Build, Deferred, Path, json_object
from db.access import visible_sql
from resolvers.context import Context


class Compiled(dict[str, Any]):
    """A JSON object from a compiled statement, keyed by response key, with the statement's
    deferred values (markers inside refer to them)."""

    def __init__(self, value: dict[str, Any], deferred: list[Deferred]) -> None:
        super().__init__(value)
        self.deferred = deferred

    @property
    def type_name(self) -> str | None:
        return self.get(TYPE_KEY)

    def answer(self, key: str) -> Any:
        return self.wrap(self.get(key))

    def wrap(self, value: Any) -> Any:
        """A JSON value read from a statement of this build: objects as Compiled, markers settled."""
        if isinstance(value, dict):
            if MARKER in value:
                return self._marker(value)
            return Compiled(value, self.deferred)
        if isinstance(value, list):
            return [self.wrap(item) for item in value]
        return value

    def _marker(self, marker: dict[str, Any]) -> Any:
        return self.wrap(self.deferred[marker[MARKER]].settle(marker.get("inputs")))


def field_of(info: GraphQLResolveInfo) -> Field:
    """The plan of the field being resolved (its fragments, directives and variables applied)."""
    # The executor hands resolvers the coerced values only; the planner reads them as graphql-core does.
    coerced: dict[str, Any] = dict(info.variable_values)  # type: ignore[arg-type]  # a mapping at run time, whatever its stub says
    planner = Planner(info.schema, info.fragments, VariableValues({}, coerced))
    return planner.field(info.parent_type, str(info.path.key), list(info.field_nodes))


def build_for(context: Context, *, typed: bool = True) -> Build:
    """A build for the caller of this request (map links signed for it)."""
    viewer = context.viewer
    request = context.request

    def map_link() -> tuple[str, str]:
        base = str(request.base_url).rstrip("/") if request is not None else ""
        return base, map_link_token(context.jwt_secret, viewer)

    return Build(viewer, map_link if request is not None else None, typed=typed)


async def row(info: Any, type_name: str, table: str, where: Callable[[Build, str], str]) -> Compiled | None:
    """What the field being resolved selects of the one row of `table` that `where` picks (null
    when there is none the caller may see), read in one statement."""
    raw: GraphQLResolveInfo = info._raw_info
    context: Context = info.context
    field, b = field_of(raw), build_for(context)
    alias = b.alias("x")
    obj = object_json(b, type_name, field.fields(type_name), alias, tuple(raw.path.as_list()))
    sql = (f"SELECT CAST((SELECT {obj} FROM {table} {alias} WHERE {where(b, alias)} "
           f"AND {visible_sql(b.viewer, table, alias)}) AS text)")
    found = await run_statement(context.pool, b, sql)
    return Compiled(orjson.loads(found[0]), b.deferred) if found and found[0] is not None else None


async def value(info: Any, build_json: Callable[[Build, Field, Path], str]) -> Any:
    """A value whose JSON `build_json` writes in SQL (from parameters and the rows they name)."""
    raw: GraphQLResolveInfo = info._raw_info
    context: Context = info.context
    field, b = field_of(raw), build_for(context)
    found = await run_statement(context.pool, b, f"SELECT CAST({build_json(b, field, tuple(raw.path.as_list()))} AS text)")
    result = orjson.loads(found[0]) if found and found[0] is not None else None
    return Compiled({}, b.deferred).wrap(result)  # objects, also inside lists, answer the fields below


def compiled_as(obj: Any, type_name: str) -> bool:
    """For `is_type_of`: a compiled object of this type."""
    return isinstance(obj, Compiled) and obj.type_name == type_name


_RESULT_COLUMNS = "n int, client_id text, status text, code text, message text, field text, enrollment_id bigint"


def _results(b: Build, results: list[Any]) -> str:
    """The write's item outcomes as rows (one JSON parameter, whatever their number)."""
    rows = [{"n": i, "client_id": str(r.client_id), "status": r.status.upper(), "code": r.code, "message": r.message,
             "field": r.field, "enrollment_id": r.enrollment_id} for i, r in enumerate(results)]
    return f"json_to_recordset({b.add(orjson.dumps(rows).decode(), 'json')}) AS r({_RESULT_COLUMNS})"


def _result_object(b: Build, field: Field, r: str, path: Path) -> str:
    """An EnrollmentResult over an outcome row aliased `r`; its enrollment read from the table."""
    from compiler.entities import enrollment_row  # a type's rows live with its other fields

    columns = {"clientId": "client_id", "status": "status", "code": "code", "message": "message", "field": "field"}
    pairs = [(TYPE_KEY, "'EnrollmentResult'")]
    for f in field.fields("EnrollmentResult"):
        if f.name == "enrollment":
            pairs.append((f.key, enrollment_row(b, f.fields(), lambda e: f"{e}.id = {r}.enrollment_id", (*path, f.key))))
        elif f.name == "__typename":
            pairs.append((f.key, "'EnrollmentResult'"))
        else:
            pairs.append((f.key, f"{r}.{columns[f.name]}"))
    return json_object(pairs)


def item_result_json(b: Build, field: Field, result: Any, path: Path) -> str:
    """An EnrollmentResult (one item's outcome of a write) as JSON."""
    return f"(SELECT {_result_object(b, field, 'r', path)} FROM {_results(b, [result])})"


def sync_result_json(b: Build, field: Field, outcome: Any, path: Path) -> str:
    """A SyncResult: counts and each item's outcome, in the order sent."""
    values = {"created": str(outcome.created), "duplicates": str(outcome.duplicates),
              "rejected": str(outcome.rejected), "__typename": "'SyncResult'"}
    pairs = [(TYPE_KEY, "'SyncResult'")]
    for f in field.fields("SyncResult"):
        if f.name == "results":
            item = _result_object(b, f, "r", (*path, f.key, 0))
            pairs.append((f.key, f"(SELECT coalesce(json_agg({item} ORDER BY r.n), '[]'::json) FROM {_results(b, outcome.results)})"))
        else:
            pairs.append((f.key, values[f.name]))
    return json_object(pairs)
