"""What every compiled field needs: parameters, JSON objects, the request being compiled, and
markers for values the statement cannot give (errors, values computed in Python afterwards)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from graphql import FieldNode, GraphQLField, is_non_null_type
from graphql.execution.values import VariableValues, get_argument_values

from compiler.plan import Args, Field
from db.access import Viewer
from db.sql import Params
from resolvers.errors import ApiError

Path = tuple[str | int, ...]
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")  # GraphQL names: safe inside a SQL string literal
MARKER = "$perisai"  # the key of a marker object in the statement's JSON (no GraphQL name has a $)
TYPE_KEY = "$type"  # in values read for Strawberry's executor: the object's type (for is_type_of)


def quoted(name: str) -> str:
    if not _NAME.fullmatch(name) and name != TYPE_KEY:
        raise ValueError(f"not a GraphQL name: {name!r}")
    return f"'{name}'"


def json_object(pairs: list[tuple[str, str]]) -> str:
    """`json_build_object` of (response key, SQL value) pairs, in order. PostgreSQL takes at most 100
    arguments per call, so larger objects are built in parts and merged (order kept by json
    concatenation of text, which stays valid JSON)."""
    if not pairs:
        return "json_build_object()"
    chunks = [pairs[i:i + 50] for i in range(0, len(pairs), 50)]
    built = ["json_build_object(" + ", ".join(f"{quoted(k)}, {v}" for k, v in chunk) + ")" for chunk in chunks]
    if len(built) == 1:
        return built[0]
    # {"a":1} + {"b":2} → {"a":1, "b":2}: strip the braces between parts.
    inner = " || ', ' || ".join(f"substr(({b})::text, 2, length(({b})::text) - 2)" for b in built)
    return f"CAST('{{' || {inner} || '}}' AS json)"


@dataclass(frozen=True)
class Deferred:
    """A value the statement leaves to Python: an error to report (the value becomes null), an
    error made from what the statement selected there (`inputs`, JSON), or a function of it."""

    error: ApiError | None = None
    compute: Callable[[Any], Any] | None = None
    nodes: tuple[Any, ...] = ()  # the field's nodes in the document: the error's locations
    error_of: Callable[[Any], ApiError] | None = None

    def settle(self, inputs: Any) -> Any:
        """The value (raising the error, if it is one), computed on this thread."""
        if self.error is not None:
            raise copy.copy(self.error)  # one error per occurrence, as resolvers raise them
        if self.error_of is not None:
            raise self.error_of(inputs)
        assert self.compute is not None
        return self.compute(inputs)


# What a bound argument's check returns: (shape, parameter values). The statement's text may depend
# on the shape (a region's level, whether one was given) but never on the values.
Shaped = tuple[Hashable, tuple[Any, ...]]


@dataclass(frozen=True)
class Binding:
    """Parameters made by a check from an argument written with variables: a template of the
    statement (compiler/templates.py) makes them from each request's variables."""

    indexes: tuple[int, ...]  # in Params.values
    field: GraphQLField
    node: FieldNode
    argument: str
    variable: str | None  # when the argument is one variable (`code: $code`); else None (`{bbox: [$x, …]}`)
    check: Callable[[Any], Shaped]
    shape: Hashable

    def values(self, variables: dict[str, Any]) -> tuple[Any, ...] | None:
        """The parameters for these (coerced) variables; None when the check gives another shape
        (the statement must be compiled again); ApiError or GraphQLError when it refuses them."""
        def argument() -> Any:  # as graphql-core decides: a value written around variables, a default, a refusal
            return get_argument_values(self.field, self.node, VariableValues({}, variables)).get(self.argument)

        if self.variable is None:
            given = argument()
        else:
            given = variables.get(self.variable)
            if given is None and (self.variable not in variables
                                  or is_non_null_type(self.field.args[self.argument].type)):
                # Otherwise the coerced value is the argument's: validation checked that the
                # variable's type fits its position.
                given = argument()
        shape, values = self.check(given)
        return values if shape == self.shape else None


@dataclass
class Build:
    """One compilation: the caller, the statement's parameters and its deferred values."""

    viewer: Viewer
    map_link: Callable[[], tuple[str, str]] | None = None  # (base URL, map-only token) for mapUrl
    typed: bool = False  # every object carries its type name (values handed to Strawberry's executor)
    params: Params = field(default_factory=Params)
    deferred: list[Deferred] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    linked: bool = False  # a map link was signed into the statement: it holds for this request only
    with_children: set[str] = field(default_factory=set)  # region-figure rows whose children were computed
    # page rows carrying `page_share` (their bytes of a geometryBudget): alias → geometry fields sharing it
    geometry_shares: dict[str, int] = field(default_factory=dict)
    _aliases: int = 0

    def alias(self, prefix: str) -> str:
        self._aliases += 1
        return f"{prefix}{self._aliases}"

    def add(self, value: Any, cast: str | None = None) -> str:
        return self.params.add(value, cast)

    def bound(self, f: Field, name: str, check: Callable[[Any], Any], cast: str | None = None) -> str:
        """The parameter of argument `name` after `check` (which validates and normalises it, or
        raises ApiError); the statement's text must not depend on the value (see `bound_shaped`)."""
        _, (placeholder,) = self.bound_shaped(f, name, lambda given: (None, (check(given),)), (cast,))
        return placeholder

    def bound_shaped(self, f: Field, name: str, check: Callable[[Any], Shaped],
                     casts: tuple[str | None, ...] | None = None) -> tuple[Hashable, tuple[str, ...]]:
        """(shape, parameters) made from argument `name` by `check`, which validates it (raising
        ApiError) and returns the shape and the parameters' values (cast as `casts` says; None: not
        cast). The caller's SQL may depend on the shape only: then, for an argument written with
        variables, a template of the statement answers later values of them with the same shape
        (compiler/templates.py)."""
        args = f.args

        def placeholders(values: tuple[Any, ...]) -> tuple[str, ...]:
            return tuple(self.add(v, c) for v, c in zip(values, casts or (None,) * len(values), strict=True))

        if not isinstance(args, Args) or not args.written_with_variables(name) or f.definition is None:
            shape, values = check(args.get(name))
            return shape, placeholders(values)
        try:
            shape, values = check(args.unread(name))
        except ApiError:
            args.get(name)  # read: a statement with this error holds for this value only
            raise
        first = len(self.params.values)
        added = placeholders(values)
        self.bindings.append(Binding(tuple(range(first, len(self.params.values))), f.definition, f.nodes[0], name,
                                     args.variable(name), check, shape))
        return shape, added

    def link(self) -> tuple[str, str]:
        """(base URL, map-only token) for a mapUrl; the statement then holds for this request only."""
        assert self.map_link is not None
        self.linked = True
        return self.map_link()

    def error(self, error: ApiError, nodes: tuple[Any, ...] = ()) -> str:
        """SQL for a marker: the field's value is null and `error` is reported at its path, once
        for every row the marker appears in (as a resolver raising it would be)."""
        self.deferred.append(Deferred(error=error, nodes=nodes))
        return f"json_build_object('{MARKER}', {len(self.deferred) - 1})"

    def compute(self, inputs: str, function: Callable[[Any], Any], nodes: tuple[Any, ...] = ()) -> str:
        """SQL for a marker whose value `function(inputs)` gives after the statement has run."""
        self.deferred.append(Deferred(compute=function, nodes=nodes))
        return f"json_build_object('{MARKER}', {len(self.deferred) - 1}, 'inputs', {inputs})"

    def error_of(self, inputs: str, make: Callable[[Any], ApiError], nodes: tuple[Any, ...] = ()) -> str:
        """SQL for a marker: the value is null and `make(inputs)` is reported at its path, with
        `inputs` (SQL) selected by the statement (a parameter named in the message, say)."""
        self.deferred.append(Deferred(error_of=make, nodes=nodes))
        return f"json_build_object('{MARKER}', {len(self.deferred) - 1}, 'inputs', {inputs})"


@dataclass(frozen=True)
class Raw:
    """SQL to put in place of a named parameter (a correlated value, such as `ARRAY[v1.code]`)."""

    sql: str


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def bind(b: Build, sql: str, values: dict[str, Any]) -> str:
    """A statement of db/queries, written with `:name` parameters, embedded in this build: each
    name becomes one new parameter (or the given raw SQL). Statements are shared, never restated."""
    placeholders: dict[str, str] = {}

    def placeholder(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in placeholders:
            value = values[name]
            placeholders[name] = f"({value.sql})" if isinstance(value, Raw) else b.add(value)
        return placeholders[name]

    return _NAMED.sub(placeholder, sql)
