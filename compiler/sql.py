"""What every compiled field needs: parameters, JSON objects, the request being compiled, and
markers for values the statement cannot give (errors, values computed in Python afterwards)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
    """A value the statement leaves to Python: an error to report (the value becomes null) or a
    function of what the statement selected there (`inputs`, JSON)."""

    error: ApiError | None = None
    compute: Callable[[Any], Any] | None = None
    nodes: tuple[Any, ...] = ()  # the field's nodes in the document: the error's locations


@dataclass
class Build:
    """One compilation: the caller, the statement's parameters and its deferred values."""

    viewer: Viewer
    map_link: Callable[[], tuple[str, str]] | None = None  # (base URL, map-only token) for mapUrl
    typed: bool = False  # every object carries its type name (values handed to Strawberry's executor)
    params: Params = field(default_factory=Params)
    deferred: list[Deferred] = field(default_factory=list)
    with_children: set[str] = field(default_factory=set)  # region-figure rows whose children were computed
    # page rows carrying `page_share` (their bytes of a geometryBudget): alias → geometry fields sharing it
    geometry_shares: dict[str, int] = field(default_factory=dict)
    _aliases: int = 0

    def alias(self, prefix: str) -> str:
        self._aliases += 1
        return f"{prefix}{self._aliases}"

    def add(self, value: Any, cast: str | None = None) -> str:
        return self.params.add(value, cast)

    def error(self, error: ApiError, nodes: tuple[Any, ...] = ()) -> str:
        """SQL for a marker: the field's value is null and `error` is reported at its path, once
        for every row the marker appears in (as a resolver raising it would be)."""
        self.deferred.append(Deferred(error=error, nodes=nodes))
        return f"json_build_object('{MARKER}', {len(self.deferred) - 1})"

    def compute(self, inputs: str, function: Callable[[Any], Any], nodes: tuple[Any, ...] = ()) -> str:
        """SQL for a marker whose value `function(inputs)` gives after the statement has run."""
        self.deferred.append(Deferred(compute=function, nodes=nodes))
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
