"""The compiler answers the whole read schema: every field reachable from Query has a compiler
(AgentSite's fields are the one Python-computed exception, declared as such), and no compiler
reads an argument the schema does not declare (their values and defaults come from the schema)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLObjectType, get_named_type, is_object_type

from compiler.execute import structural
from compiler.objects import FIELDS
from compiler.plan import Field
from compiler.sql import Build
from db.access import Role, Viewer
from schema import schema as api_schema

SCHEMA = api_schema._schema


def readable_types() -> dict[str, GraphQLObjectType]:
    """Object types reachable from Query (not only from Mutation or Subscription)."""
    seen: dict[str, GraphQLObjectType] = {}
    stack = [SCHEMA.query_type]
    while stack:
        kind = stack.pop()
        if kind.name in seen:
            continue
        seen[kind.name] = kind
        for definition in kind.fields.values():
            named = get_named_type(definition.type)
            below = [named] if is_object_type(named) else list(SCHEMA.get_possible_types(named)) \
                if hasattr(named, "fields") else []
            stack += [t for t in below if t.name not in seen]  # type: ignore[misc]
    return seen


def test_every_read_field_has_a_compiler() -> None:
    missing = [f"{name}.{field}" for name, kind in readable_types().items() if not structural(name)
               for field in kind.fields if (name, field) not in FIELDS]
    assert missing == []
    assert ("AgentSite", "rank") in FIELDS  # declared, computed by the solver


class Recording(dict[str, Any]):
    """Arguments as the schema declares them (all null); reads of any other name are recorded."""

    def __init__(self, declared: list[str]) -> None:
        super().__init__({name: None for name in declared})
        self.unknown: list[str] = []

    def __getitem__(self, key: str) -> Any:
        if key not in self:
            self.unknown.append(key)
        return dict.get(self, key)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        if key not in self:
            self.unknown.append(key)
        return dict.get(self, key, default)


def test_no_compiler_reads_an_argument_the_schema_does_not_declare() -> None:
    wrong = []
    for (type_name, field_name), compile_field in FIELDS.items():
        kind = SCHEMA.get_type(type_name)
        assert isinstance(kind, GraphQLObjectType), type_name
        definition = kind.fields[field_name]
        args = Recording(list(definition.args))
        for role in Role:
            viewer = Viewer("t", role, ("99",) if role is Role.MANAGER else (), "AG-1" if role is Role.AGENT else None)
            try:
                compile_field(Build(viewer), Field("k", field_name, definition, args, ()), "x", ("k",))
            except Exception:  # noqa: BLE001 - null arguments may be refused; only the names read matter
                pass
        wrong += [f"{type_name}.{field_name}({name})" for name in args.unknown]
    assert wrong == []
