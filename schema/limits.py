"""Limits against abusive documents: bytes, tokens, depth, aliases, expanded size and an estimated cost.

Every check costs time linear in the document. Strawberry's `QueryDepthLimiter` and
`MaxAliasesLimiter` (and our first cost estimate) re-walked a fragment at every spread, so a
chain of fragments each spreading the next twice cost 2ⁿ steps before anyone signed in
(`query { ...x0 } fragment x0 on Query { ...x1 ...x1 } …`). Here each fragment is measured once,
in dependency order, and its figures are reused at every spread; the expanded size of the
document (what execution and graphql-core's own validation walk) is itself a limit.

The shape checks run before graphql-core's validation rules (some of which grow faster than
linearly with repeated fields), and a refused document never reaches them. The cost estimate
needs the variables, so it runs at execution: every connection costs its page size multiplied by
the page sizes of the connections around it, so `regencies(first: 10) { districts(first: 20) }`
costs 10 + 10 × 20 = 210.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    validate,
    value_from_ast_untyped,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import MaybeNullValidationRule, OneOfInputValidationRule
from strawberry.types import ExecutionResult

from resolvers.errors import QueryTooComplex
from resolvers.pagination import DEFAULT_PAGE_SIZE

PARSED_DOCUMENTS = 512  # distinct query texts kept measured and validated, per process
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 100_000  # the query text, checked before it is tokenised
    max_tokens: int = 5_000
    max_depth: int = 20
    max_aliases: int = 30
    max_fields: int = 10_000  # selections once every fragment spread is expanded
    max_merges: int = 2_500  # field-merge comparisons graphql-core's validation will make (estimate)
    max_cost: int = 500_000  # like GitHub's node limit: rows, page sizes multiplied along nesting


def refusal(message: str) -> GraphQLError:
    error = QueryTooComplex(message)
    return GraphQLError(str(error), original_error=error, extensions={"code": error.code})


def refused(message: str) -> ExecutionResult:
    return ExecutionResult(data=None, errors=[refusal(message)])


@dataclass(frozen=True, slots=True)
class Shape:
    """What a selection set expands to: field depth, syntactic nesting (fields, inline fragments and
    spreads: what recursive walkers recurse through), aliases and selections (with repeats)."""

    depth: int = 0
    nesting: int = 0
    aliases: int = 0
    fields: int = 0

    def __add__(self, other: Shape) -> Shape:
        return Shape(max(self.depth, other.depth), max(self.nesting, other.nesting),
                     self.aliases + other.aliases, self.fields + other.fields)


def dependency_order(fragments: dict[str, FragmentDefinitionNode]) -> list[str]:
    """Fragment names, each after those it spreads. Iterative, so a long chain cannot exhaust the
    stack; a spread that closes a cycle is skipped (graphql-core's validation reports the cycle)."""
    order: list[str] = []
    state: dict[str, bool] = {}  # False: being visited, True: done
    for root in fragments:
        if root in state:
            continue
        state[root] = False
        stack = [(root, _spreads(fragments[root].selection_set))]
        while stack:
            name, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                state[name] = True
                order.append(name)
            elif child in fragments and child not in state:
                state[child] = False
                stack.append((child, _spreads(fragments[child].selection_set)))
    return order


def _spreads(selection_set: SelectionSetNode) -> Iterator[str]:
    stack = [selection_set]
    while stack:
        for node in stack.pop().selections:
            if isinstance(node, FragmentSpreadNode):
                yield node.name.value
            elif node.selection_set is not None:  # type: ignore[attr-defined]
                stack.append(node.selection_set)  # type: ignore[attr-defined]


Keys = dict[str, tuple[int, int]]  # response key → (fields with that key, largest subtree among them)


class _Measure:
    """Shapes of a document's operations; each fragment is measured once, in dependency order.

    It also estimates graphql-core's field-merge check (OverlappingFieldsCanBeMerged), which
    compares every pair of fields that share a response key in a selection set (inline fragments
    and spread fragments merged in), subtree against subtree: `{ provinces { totalCount } }` 600
    times is 180,000 comparisons and took 1.4 s. `merges` adds C(k, 2) × subtree size per key.
    """

    def __init__(self, document: DocumentNode, nesting_limit: int) -> None:
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.nesting_limit = nesting_limit
        self.shapes: dict[str, tuple[Shape, Keys]] = {}
        self.merges = 0
        for name in dependency_order(fragments):
            self.shapes[name] = self._selections(fragments[name].selection_set, 0)

    def _selections(self, selection_set: SelectionSetNode | None, nesting: int, inline: bool = False) -> tuple[Shape, Keys]:
        if selection_set is None:
            return Shape(), {}
        if nesting > self.nesting_limit:
            return Shape(nesting=nesting), {}  # refused anyway: no need to walk (or recurse) further
        total, keys, spread_names = Shape(), dict[str, Any](), set[str]()
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                inner, _ = self._selections(node.selection_set, nesting + 1)
                # Introspection fields do not count towards depth (as in Strawberry's limiter).
                depth = 0 if node.selection_set is None or node.name.value.startswith("__") else 1 + inner.depth
                total += Shape(depth, max(inner.nesting, nesting + 1), inner.aliases + (node.alias is not None),
                               inner.fields + 1)
                _merge(keys, {(node.alias or node.name).value: (1, 1 + inner.fields)})
            elif isinstance(node, InlineFragmentNode):
                inner, inner_keys = self._selections(node.selection_set, nesting + 1, inline=True)
                total += inner
                _merge(keys, inner_keys)
            elif isinstance(node, FragmentSpreadNode):
                spread, spread_keys = self.shapes.get(node.name.value, (Shape(), {}))
                total += Shape(spread.depth, nesting + 1 + spread.nesting, spread.aliases, spread.fields)
                if node.name.value not in spread_names:  # graphql-core compares a fragment once per set
                    spread_names.add(node.name.value)
                    _merge(keys, spread_keys)
        if not inline:  # an inline fragment's fields are compared as part of the enclosing set
            self.merges += sum(count * (count - 1) // 2 * weight for count, weight in keys.values() if count > 1)
        return total, keys

    def operations(self, operations: list[OperationDefinitionNode]) -> Shape:
        total = Shape()
        for operation in operations:
            total += self._selections(operation.selection_set, 0)[0]
        return total


def _merge(keys: Keys, more: Keys) -> None:
    for key, (count, weight) in more.items():
        had_count, had_weight = keys.get(key, (0, 0))
        keys[key] = (had_count + count, max(had_weight, weight))


def shape_problem(document: DocumentNode, limits: Limits) -> str | None:
    """Why the document is refused before validation, or None."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    # Nesting counts inline fragments and spreads too; three per level of depth leaves room for
    # `... on X` and fragments, and keeps graphql-core's recursive walkers far from the stack limit.
    nesting_limit = 3 * limits.max_depth + 3
    measure = _Measure(document, nesting_limit)
    shape = measure.operations(operations)
    if shape.depth > limits.max_depth:
        return f"the query exceeds the maximum operation depth of {limits.max_depth}"
    if shape.nesting > nesting_limit:
        return (f"the query nests selections, inline fragments and fragment spreads {shape.nesting} levels "
                f"deep; the limit is {nesting_limit}")
    if shape.aliases > limits.max_aliases:
        return f"{shape.aliases:,} aliases found (fragments counted at every spread). Allowed: {limits.max_aliases}"
    if shape.fields > limits.max_fields:
        return (f"the query expands to {shape.fields:,} selections once its fragments are spread; the limit is "
                f"{limits.max_fields:,}. Spread large fragments fewer times.")
    if measure.merges > limits.max_merges:
        return (f"the query repeats fields with the same response key so often that checking they can be merged "
                f"takes about {measure.merges:,} comparisons; the limit is {limits.max_merges:,}. "
                "Ask for each field once per selection set, or use aliases.")
    return None


def per_document(function: Callable[Concatenate[DocumentNode, P], R]) -> Callable[Concatenate[DocumentNode, P], R]:
    """`function(document, *args)` memoised by the document's identity and the other arguments, for
    the PARSED_DOCUMENTS most recent. Not lru_cache: graphql-core's nodes are frozen dataclasses
    whose hash walks the whole tree, on every call (2 % of a compiled read's CPU). The parser's
    cache hands out one object per text, and each entry keeps its document alive, so no other
    document can take its id while the entry exists."""
    entries: OrderedDict[tuple[Any, ...], tuple[DocumentNode, R]] = OrderedDict()

    @wraps(function)
    def memoised(document: DocumentNode, *args: P.args, **kwargs: P.kwargs) -> R:
        key = (id(document), *args, *sorted(kwargs.items()))
        entry = entries.get(key)
        if entry is not None and entry[0] is document:
            entries.move_to_end(key)
            return entry[1]
        value = function(document, *args, **kwargs)
        entries[key] = (document, value)
        if len(entries) > PARSED_DOCUMENTS:
            entries.popitem(last=False)
        return value

    return memoised


@per_document
def _shape_problem(document: DocumentNode, limits: Limits) -> str | None:
    return shape_problem(document, limits)


@per_document
def _validate(document: DocumentNode, schema: GraphQLSchema, rules: tuple[type[ASTValidationRule], ...],
              hide_suggestions: bool) -> list[GraphQLError]:
    return validate(schema, document, rules, hide_suggestions=hide_suggestions)


def guarded_validation(limits: Limits, *, hide_suggestions: bool) -> type[SchemaExtension]:
    """An extension that checks the document's shape, then runs graphql-core's validation (cached
    per document, as Strawberry's ValidationCache does) only when the shape is within the limits.

    Validation runs on the event loop: with every input bounded (bytes, tokens, expanded size)
    it stays within milliseconds; BENCHMARKS.md has the worst documents measured.
    """

    class GuardedValidation(SchemaExtension):
        def on_validate(self) -> Iterator[None]:
            context = self.execution_context
            document = context.graphql_document
            if document is not None and context.pre_execution_errors is None:
                problem = _shape_problem(document, limits)
                if problem is not None:
                    context.pre_execution_errors = [refusal(problem)]
                else:
                    rules = (*context.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule)
                    context.pre_execution_errors = list(
                        _validate(document, context.schema._schema, rules, hide_suggestions)
                    )
            yield

    return GuardedValidation


def cost_refusal(document: DocumentNode, operation_name: str | None, variables: dict[str, Any],
                 schema: GraphQLSchema, max_cost: int) -> ExecutionResult | None:
    """The refusal of an operation whose estimated rows exceed `max_cost`, or None."""
    operation = _operation(document.definitions, operation_name)
    if operation is None:
        return None
    estimate = _fixed_cost(document, operation_name, schema)
    if estimate is None:  # a page size is a variable: estimate this request's, defaults included
        defaults = {d.variable.name.value: value_from_ast_untyped(d.default_value)
                    for d in operation.variable_definitions or () if d.default_value is not None}
        estimate = _Cost(document, {**defaults, **variables}, schema).operation(operation)
    if estimate <= max_cost:
        return None
    return refused(
        f"this query could return about {estimate:,} rows (page sizes multiplied along the nesting); "
        f"the limit is {max_cost:,}. Ask for smaller pages (first/last) or fewer nested lists."
    )


@per_document
def _fixed_cost(document: DocumentNode, operation_name: str | None, schema: GraphQLSchema) -> int | None:
    """The operation's estimate when no page size comes from a variable (the same for every
    request of the document), else None."""
    operation = _operation(document.definitions, operation_name)
    if operation is None:
        return None
    cost = _Cost(document, {}, schema)
    estimate = cost.operation(operation)
    return None if cost.read_variables else estimate


def _operation(definitions: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


class _Cost:
    """Estimated rows. A fragment's cost at multiplier m is m × its cost at 1 (every term carries
    the multiplier), so each fragment is estimated once per request and reused at every spread."""

    def __init__(self, document: DocumentNode, variables: dict[str, Any], schema: GraphQLSchema) -> None:
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.variables = variables
        self.schema = schema
        self.read_variables = False  # whether a page size came from a variable
        self.memo: dict[str, int] = {}
        for name in dependency_order(self.fragments):
            kind = schema.get_type(self.fragments[name].type_condition.name.value)
            self.memo[name] = self._cost(self.fragments[name].selection_set, kind, 1)

    def operation(self, operation: OperationDefinitionNode) -> int:
        return self._cost(operation.selection_set, self.schema.get_root_type(operation.operation), 1)

    def _page_size(self, node: FieldNode) -> int:
        given = {a.name.value: a.value for a in node.arguments or () if a.name.value in ("first", "last")}
        for name in ("last", "first"):
            if name in given:
                self.read_variables |= isinstance(given[name], VariableNode)
                value = value_from_ast_untyped(given[name], self.variables)
                if isinstance(value, int) and not isinstance(value, bool):
                    return max(value, 1)
        return DEFAULT_PAGE_SIZE

    def _cost(self, selections: SelectionSetNode | None, parent: Any, multiplier: int) -> int:
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
                    factor = multiplier * self._page_size(node)
                    total += factor
                total += self._cost(node.selection_set, field_type, factor)
            elif isinstance(node, InlineFragmentNode):
                kind = self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent
                total += self._cost(node.selection_set, kind, multiplier)
            elif isinstance(node, FragmentSpreadNode):
                total += multiplier * self.memo.get(node.name.value, 0)
        return total
