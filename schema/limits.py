"""Limits against abusive queries: depth, tokens, aliases and an estimated cost.

Depth, tokens and aliases use Strawberry's own limiters; their refusals are tagged with
`QUERY_TOO_COMPLEX`. The cost estimate is ours (Strawberry has none): every connection costs its
page size multiplied by the page sizes of the connections around it, so
`regencies(first: 10) { districts(first: 20) }` costs 10 + 10 × 20 = 210.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
    value_from_ast_untyped,
)
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.types import ExecutionResult

from resolvers.errors import QueryTooComplex
from resolvers.pagination import DEFAULT_PAGE_SIZE

TOO_COMPLEX = "QUERY_TOO_COMPLEX"


class _Tagging:
    """A ValidationContext stand-in that adds `extensions.code` to the errors reported through it."""

    def __init__(self, context: ValidationContext) -> None:
        self._context = context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def report_error(self, error: GraphQLError) -> None:
        error.extensions = {**(error.extensions or {}), "code": TOO_COMPLEX}
        self._context.report_error(error)


def tagged(extension: AddValidationRules) -> AddValidationRules:
    """The same library rules, with their refusals carrying the QUERY_TOO_COMPLEX code."""

    def wrap(rule: type[ValidationRule]) -> type[ValidationRule]:
        class Tagged(ValidationRule):
            def __init__(self, context: ValidationContext) -> None:
                super().__init__(context)
                # The library rules do all their work in __init__ (they walk the document once).
                rule(_Tagging(context))  # type: ignore[arg-type]

        return Tagged

    extension.validation_rules = [wrap(rule) for rule in extension.validation_rules]
    return extension


def depth_and_aliases(max_depth: int, max_aliases: int) -> Callable[[], SchemaExtension]:
    """One extension factory; the rule classes are made once, so every request adds the same
    classes and the validation cache (keyed by document and rules) can answer repeated queries."""
    rules = [*tagged(QueryDepthLimiter(max_depth=max_depth)).validation_rules,
             *tagged(MaxAliasesLimiter(max_alias_count=max_aliases)).validation_rules]
    return lambda: AddValidationRules(rules)


class QueryCost(SchemaExtension):
    """Refuse, before execution, operations whose estimated rows exceed `max_cost`."""

    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operation = _operation(document.definitions if document else [], context.operation_name)
        if operation is not None:
            fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}  # type: ignore[union-attr]
            schema: GraphQLSchema = context.schema._schema
            root = schema.get_root_type(operation.operation)
            estimate = _cost(operation.selection_set, root, 1, fragments, context.variables or {}, schema)
            if estimate > self.max_cost:
                error = QueryTooComplex(
                    f"this query could return about {estimate:,} rows (page sizes multiplied along the nesting); "
                    f"the limit is {self.max_cost:,}. Ask for smaller pages (first/last) or fewer nested lists."
                )
                context.result = ExecutionResult(
                    data=None, errors=[GraphQLError(str(error), original_error=error, extensions={"code": error.code})]
                )
        yield


def _operation(definitions: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _cost(
    selections: SelectionSetNode | None, parent: Any, multiplier: int, fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any], schema: GraphQLSchema, seen: frozenset[str] = frozenset(),
) -> int:
    if selections is None or parent is None:
        return 0
    total = 0
    for node in selections.selections:
        if isinstance(node, FieldNode):
            definition = getattr(parent, "fields", {}).get(node.name.value)
            if definition is None:
                continue
            field_type = get_named_type(definition.type)
            factor = multiplier
            if isinstance(field_type, GraphQLObjectType) and field_type.name.endswith("Connection"):
                factor = multiplier * _page_size(node, variables)
                total += factor
            total += _cost(node.selection_set, field_type, factor, fragments, variables, schema, seen)
        elif isinstance(node, InlineFragmentNode):
            kind = schema.get_type(node.type_condition.name.value) if node.type_condition else parent
            total += _cost(node.selection_set, kind, multiplier, fragments, variables, schema, seen)
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                kind = schema.get_type(fragment.type_condition.name.value)
                total += _cost(
                    fragment.selection_set, kind, multiplier, fragments, variables, schema, seen | {node.name.value}
                )
    return total


def _page_size(node: FieldNode, variables: dict[str, Any]) -> int:
    arguments = {a.name.value: value_from_ast_untyped(a.value, variables) for a in node.arguments or ()}
    for name in ("last", "first"):
        value = arguments.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return max(value, 1)
    return DEFAULT_PAGE_SIZE
