"""Refuse text PostgreSQL cannot store, wherever it comes in (variables or the document's literals).

PostgreSQL's text and jsonb cannot hold U+0000: a NUL in any argument used to reach the database
and come back as INTERNAL_SERVER_ERROR. Checking once per request, before execution, covers every
argument of every field (and the compiled reads, which never call a resolver) in time linear in
the request. Lone surrogates cannot get this far: orjson refuses them in the body, graphql-core in
the document.
"""

from __future__ import annotations

from typing import Any

from graphql import ArgumentNode, DocumentNode, GraphQLError, ObjectFieldNode, StringValueNode, visit
from graphql.language import Visitor
from strawberry.types import ExecutionResult

from resolvers.errors import BadUserInput
from schema.limits import per_document

_MESSAGE = "contains a NUL character (U+0000), which cannot be stored; remove it and send the text again"


def _in_value(value: Any, path: str) -> str | None:
    """The path of the first string holding a NUL inside a variable's JSON value, or None."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return where
        elif isinstance(item, dict):
            stack += [(v, f"{where}.{k}") for k, v in item.items()]
            if any("\x00" in k for k in item if isinstance(k, str)):
                return where
        elif isinstance(item, list):
            stack += [(v, f"{where}.{i}") for i, v in enumerate(item)]
    return None


class _Strings(Visitor):
    """Finds the argument (and input fields) around the first literal string with a NUL."""

    def __init__(self) -> None:
        super().__init__()
        self.path: list[str] = []
        self.found: str | None = None

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        self.path.append(node.name.value)

    def leave_argument(self, *_: Any) -> None:
        self.path.pop()

    def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
        self.path.append(node.name.value)

    def leave_object_field(self, *_: Any) -> None:
        self.path.pop()

    def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
        if "\x00" in node.value:
            self.found = ".".join(self.path) or "query"
            return self.BREAK
        return None


@per_document
def _in_document(document: DocumentNode) -> str | None:
    strings = _Strings()
    visit(document, strings)
    return strings.found


def unstorable_refusal(document: DocumentNode, variables: dict[str, Any]) -> ExecutionResult | None:
    """The refusal of a request with a NUL in its variables or its document's strings, or None."""
    field = next((f for name, value in variables.items() if (f := _in_value(value, name)) is not None), None)
    if field is None:
        field = _in_document(document)
    if field is None:
        return None
    error = BadUserInput(_MESSAGE, field=field)
    return ExecutionResult(data=None, errors=[
        GraphQLError(str(error), original_error=error, extensions={"code": error.code, "field": field})])
