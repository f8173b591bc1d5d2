"""A GraphQL operation as a plan: every field with its response key, definition, coerced arguments
and, for each object type its value may have, the fields selected below it.

Everything clients write that changes *which* fields are asked for is resolved here: named and
inline fragments (also on the `Node` and `AdministrativeRegion` interfaces), `@include`/`@skip`,
aliases (the same field twice with different arguments is two entries), variables with their
defaults, several root fields. The SQL builder then sees concrete fields of concrete types only.
Arguments are coerced by graphql-core against the schema, so defaults come from the schema and are
never restated.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    is_abstract_type,
    is_object_type,
)
from graphql.execution.values import (
    VariableValues,
    get_argument_values,
    get_directive_values,
    get_variable_values,
)

TYPENAME = "__typename"


def variables_in(value: ValueNode | None) -> tuple[str, ...]:
    """The names of the variables an argument's value is written with (`[$xmin, 1]` → xmin)."""
    if isinstance(value, VariableNode):
        return (value.name.value,)
    if isinstance(value, ListValueNode):
        return tuple(name for item in value.values for name in variables_in(item))
    if isinstance(value, ObjectValueNode):
        return tuple(name for item in value.fields for name in variables_in(item.value))
    return ()


class Args(Mapping[str, Any]):
    """A field's coerced arguments. Reading one records the variables it was written with in
    `reads`: the compiled statement may depend on their values (compiler/templates.py reuses it
    only for the same values). `bound` reads one without recording it, for a value that only
    becomes a parameter of the statement."""

    def __init__(self, values: dict[str, Any], node: FieldNode | None, reads: set[str]) -> None:
        self._values = values
        arguments = (node.arguments or ()) if node else ()
        self._variables = {a.name.value: variables_in(a.value) for a in arguments}
        self._direct = {a.name.value: a.value.name.value for a in arguments if isinstance(a.value, VariableNode)}
        self._reads = reads

    def __getitem__(self, name: str) -> Any:
        self._reads.update(self._variables.get(name, ()))
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        self._reads.update(self._variables.get(name, ()) if isinstance(name, str) else ())
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        self._read_all()
        return iter(self._values)

    def __len__(self) -> int:
        self._read_all()
        return len(self._values)

    def _read_all(self) -> None:
        for variables in self._variables.values():
            self._reads.update(variables)

    def variable(self, name: str) -> str | None:
        """The variable the argument is, when it is written as one variable (`code: $code`)."""
        return self._direct.get(name)

    def written_with_variables(self, name: str) -> bool:
        """Whether the argument is written with variables (`$code`, `{bbox: [$xmin, …]}`)."""
        return bool(self._variables.get(name))

    def unread(self, name: str) -> Any:
        """The argument's value (None when absent), without recording a read."""
        return self._values.get(name)


@dataclass(frozen=True)
class Field:
    """One response key: the field it answers and what is selected below it, per object type."""

    key: str
    name: str
    definition: GraphQLField | None  # None for __typename
    args: Mapping[str, Any]  # Args, when planned from a document
    nodes: tuple[FieldNode, ...]
    below: dict[str, tuple[Field, ...]] = field(default_factory=dict)  # object type name → its fields

    @property
    def type_name(self) -> str:
        """The named type of the field's value (`Village` for `[Village!]!`)."""
        return get_named_type(self.definition.type).name if self.definition else "String"

    def fields(self, type_name: str | None = None) -> tuple[Field, ...]:
        """The fields selected below, for the one object type (or the given one of an interface)."""
        if type_name is None:
            if len(self.below) != 1:
                raise ValueError(f"{self.key}: name the object type ({', '.join(self.below)})")
            return next(iter(self.below.values()))
        return self.below.get(type_name, ())


@dataclass(frozen=True)
class Operation:
    kind: OperationType
    fields: tuple[Field, ...]
    root: GraphQLObjectType
    variables: dict[str, Any] = field(default_factory=dict)  # coerced, defaults applied
    reads: set[str] = field(default_factory=set)  # variables whose values the plan or its compilation read


class Planner:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode], variables: Any) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.reads: set[str] = set()  # variables read by directives and through Args

    def fields(self, parent: GraphQLObjectType, selection_sets: Iterable[SelectionSetNode]) -> tuple[Field, ...]:
        grouped: dict[str, list[FieldNode]] = {}
        for selection_set in selection_sets:
            self._collect(parent, selection_set, grouped, set())
        return tuple(self._field(parent, key, nodes) for key, nodes in grouped.items())

    def _collect(self, parent: GraphQLObjectType, selection_set: SelectionSetNode,
                 grouped: dict[str, list[FieldNode]], visited: set[str]) -> None:
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                grouped.setdefault((selection.alias or selection.name).value, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else None
                if self._applies(condition, parent):
                    self._collect(parent, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self._applies(fragment.type_condition.name.value, parent):
                    self._collect(parent, fragment.selection_set, grouped, visited)

    def _included(self, node: Any) -> bool:
        for directive in node.directives or ():
            for argument in directive.arguments:
                self.reads.update(variables_in(argument.value))
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip and skip.get("if") is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include and include.get("if") is False)

    def _applies(self, condition: str | None, parent: GraphQLObjectType) -> bool:
        if condition is None or condition == parent.name:
            return True
        kind = self.schema.get_type(condition)
        return kind is not None and is_abstract_type(kind) and self.schema.is_sub_type(kind, parent)

    def field(self, parent: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> Field:
        """One response key of `parent` and everything below it."""
        return self._field(parent, key, nodes)

    def _field(self, parent: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> Field:
        name = nodes[0].name.value
        if name.startswith("__"):  # __typename; introspection (__schema, __type) is not compiled
            return Field(key, name, None, Args({}, None, self.reads), tuple(nodes))
        definition = parent.fields[name]
        args = get_argument_values(definition, nodes[0], self.variables)
        value_type = get_named_type(definition.type)
        below: dict[str, tuple[Field, ...]] = {}
        selection_sets = [n.selection_set for n in nodes if n.selection_set is not None]
        if selection_sets:
            possible: Sequence[GraphQLObjectType] = (
                [value_type] if is_object_type(value_type) else self.schema.get_possible_types(value_type)
            )
            below = {t.name: self.fields(t, selection_sets) for t in possible}
        return Field(key, name, definition, Args(args, nodes[0], self.reads), tuple(nodes), below)


def chosen_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
    """The operation the request runs; GraphQLError when the name does not choose exactly one."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if len(chosen) != 1:
        raise GraphQLError("name the operation to run (operationName)" if chosen else
                           f"no operation named {operation_name!r}")
    return chosen[0]


def coerced_variables(schema: GraphQLSchema, operation: OperationDefinitionNode,
                      variables: dict[str, Any] | None) -> VariableValues:
    """The request's variables coerced against the operation's definitions (defaults applied);
    GraphQLError for a value the schema refuses."""
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        raise coerced[0]
    return coerced


def plan_operation(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                   variables: dict[str, Any]) -> Operation:
    """The operation's plan; GraphQLError for variables or arguments the schema refuses."""
    operation = chosen_operation(document, operation_name)
    return planned(schema, document, operation, coerced_variables(schema, operation, variables))


def planned(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
            coerced: VariableValues) -> Operation:
    """The plan of `operation` for variables already coerced."""
    root = schema.get_root_type(operation.operation)
    assert root is not None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    planner = Planner(schema, fragments, coerced)
    fields = planner.fields(root, [operation.selection_set])
    return Operation(operation.operation, fields, root, coerced.coerced, planner.reads)
