"""The registry of compiled fields and the JSON of an object built from it.

Every read field of the schema has one compiler here, registered under its type and field name:
a function of (build, planned field, SQL alias of the parent row, response path) that returns the
field's value as SQL. Arguments arrive coerced by graphql-core against the schema, so their
defaults are the schema's; a test walks the schema and fails for a field without a compiler.
"""

from __future__ import annotations

from collections.abc import Callable

from compiler.plan import TYPENAME, Field
from compiler.sql import TYPE_KEY, Build, Path, json_object, quoted

FieldCompiler = Callable[[Build, Field, str, Path], str]
FIELDS: dict[tuple[str, str], FieldCompiler] = {}


def compiles(*types: str, field: str) -> Callable[[FieldCompiler], FieldCompiler]:
    """Register a field compiler for `field` on each of `types`."""

    def register(function: FieldCompiler) -> FieldCompiler:
        for type_name in types:
            key = (type_name, field)
            if key in FIELDS:
                raise ValueError(f"{type_name}.{field} is compiled twice")
            FIELDS[key] = function
        return function

    return register


def compiles_columns(type_name: str, columns: dict[str, Callable[[str], str]]) -> None:
    """Register fields that are each one SQL expression of the parent row's alias."""
    for name, expression in columns.items():
        compiles(type_name, field=name)(_expression_of(expression))


def _expression_of(expression: Callable[[str], str]) -> FieldCompiler:
    def compile_expression(b: Build, f: Field, alias: str, path: Path) -> str:
        return expression(alias)

    return compile_expression


def column(name: str) -> FieldCompiler:
    """A field that is a column of the parent row."""
    return lambda b, f, alias, path: f"{alias}.{name}"


def object_json(b: Build, type_name: str, fields: tuple[Field, ...], alias: str, path: Path) -> str:
    """The JSON object of the row aliased `alias` as a `type_name`, with the selected fields."""
    pairs = [(TYPE_KEY, quoted(type_name))] if b.typed else []
    for f in fields:
        if f.name == TYPENAME:
            pairs.append((f.key, quoted(type_name)))
        else:
            pairs.append((f.key, FIELDS[(type_name, f.name)](b, f, alias, (*path, f.key))))
    return json_object(pairs)


def global_id(type_name: str, key_sql: str) -> str:
    """Relay's global id, `base64("Type:key")`, as Strawberry makes it (standard alphabet, padded)."""
    return f"translate(encode(convert_to({quoted(type_name)} || ':' || {key_sql}, 'UTF8'), 'base64'), E'\\n', '')"
