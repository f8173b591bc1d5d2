"""The same workload query in the forms real clients send it.

- Apollo: `__typename` in every selection set and `id` on every object that has one (Apollo Client
  adds them to normalise its cache).
- Relay: every object's selections in a fragment of their own, spread where they were.
- manager: the plain query, sent with a manager's token whose scope covers every region asked for
  (every province), so the scoped path answers everything the plain form does.

The other forms are sent with an admin's token: PostGraphile applies no small-count suppression,
so only a caller who sees every count gets the answers it gives (a planner's suppressed figures
are measured by `make bench`).
"""

from __future__ import annotations

from typing import cast

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    NamedTypeNode,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    parse,
    print_ast,
)

from auth.tokens import issue
from db.access import Role
from db.regions import PROVINCE_NAMES
from schema import schema as api_schema

FORMS = ("plain", "apollo", "relay", "manager")
SCHEMA = api_schema._schema
QUERY = cast(GraphQLObjectType, SCHEMA.query_type)  # every schema here has a Query type


def _field(name: str) -> FieldNode:
    return FieldNode(name=NameNode(value=name), arguments=(), directives=())


def _rewrite(selection_set: SelectionSetNode, parent: GraphQLObjectType, visit: object) -> SelectionSetNode:
    selections = []
    for node in selection_set.selections:
        if isinstance(node, FieldNode) and node.selection_set is not None:
            kind = get_named_type(parent.fields[node.name.value].type)
            inner = _rewrite(node.selection_set, kind, visit)
            node = FieldNode(alias=node.alias, name=node.name, arguments=node.arguments, directives=node.directives,
                             selection_set=visit(inner, kind))  # type: ignore[operator]
        selections.append(node)
    return SelectionSetNode(selections=tuple(selections))


def _operation(document: DocumentNode) -> OperationDefinitionNode:
    return next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))


def apollo(query: str) -> str:
    """`__typename` everywhere, `id` on every object type that has an id."""
    document = parse(query)
    operation = _operation(document)

    def add(selection_set: SelectionSetNode, kind: GraphQLObjectType) -> SelectionSetNode:
        names = {s.name.value for s in selection_set.selections if isinstance(s, FieldNode)}
        extra = [_field("__typename")] if "__typename" not in names else []
        if "id" in kind.fields and "id" not in names:
            extra.append(_field("id"))
        return SelectionSetNode(selections=(*extra, *selection_set.selections))

    rewritten = _rewrite(operation.selection_set, QUERY, add)
    return print_ast(DocumentNode(definitions=(OperationDefinitionNode(
        operation=operation.operation, name=operation.name, variable_definitions=operation.variable_definitions,
        directives=operation.directives, selection_set=rewritten),)))


def relay(query: str) -> str:
    """Every object's selections moved into a fragment of its own (as Relay's compiler writes them)."""
    document = parse(query)
    operation = _operation(document)
    fragments: list[FragmentDefinitionNode] = []

    def fragment(selection_set: SelectionSetNode, kind: GraphQLObjectType) -> SelectionSetNode:
        name = f"{kind.name}_part{len(fragments) + 1}"
        fragments.append(FragmentDefinitionNode(name=NameNode(value=name), type_condition=NamedTypeNode(
            name=NameNode(value=kind.name)), directives=(), selection_set=selection_set))
        return SelectionSetNode(selections=(FragmentSpreadNode(name=NameNode(value=name), directives=()),))

    rewritten = _rewrite(operation.selection_set, QUERY, fragment)
    return print_ast(DocumentNode(definitions=(OperationDefinitionNode(
        operation=operation.operation, name=operation.name, variable_definitions=operation.variable_definitions,
        directives=operation.directives, selection_set=rewritten), *fragments)))


def form_token(secret: bytes, form: str) -> str:
    """The token each form is sent with: a manager of every province for `manager`, else an admin."""
    return manager_token(secret) if form == "manager" else issue(secret, subject="bench-admin", role=Role.ADMIN)


def manager_token(secret: bytes) -> str:
    """A manager of every province: the scoped path, covering every region a workload asks for."""
    return issue(secret, subject="bench-manager", role=Role.MANAGER, scope=tuple(sorted(PROVINCE_NAMES)))


def form_query(query: str, form: str) -> str:
    return apollo(query) if form == "apollo" else relay(query) if form == "relay" else query
