"""Every error gets `extensions.code`; unexpected ones are masked and logged with an id."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalIDValueError, InvalidGlobalIDError

from resolvers.errors import ApiError, BadUserInput

log = logging.getLogger("perisai.api")


def _chain(error: GraphQLError) -> list[BaseException]:
    """The error and the errors it wraps (graphql-core nests them when coercing arguments)."""
    chain: list[BaseException] = [error]
    while isinstance(chain[-1], GraphQLError) and chain[-1].original_error is not None:
        chain.append(chain[-1].original_error)
    return chain


# graphql-core: "Variable '$input' got invalid value 'x' at 'input.clientId'; …" or
# "Variable '$input' has invalid value at .clientId: …" (the wording differs by version and case).
_VARIABLE = re.compile(
    r"Variable '\$(?P<name>\w+)' (?:got invalid value .*?(?: at '(?P<at>[^']+)')?;|has invalid value(?: at (?P<path>\S+?))?:)"
)


def _code(error: GraphQLError) -> str | None:
    """The code a client may see, or None when the error must be masked."""
    chain = _chain(error)
    for link in chain:
        if isinstance(link, ApiError):
            return link.code
        if isinstance(link, GraphQLError) and (link.extensions or {}).get("code"):
            return str(link.extensions["code"])  # type: ignore[index]
        if isinstance(link, (GlobalIDValueError, InvalidGlobalIDError)):
            return BadUserInput.code
    if isinstance(error, GraphQLSyntaxError):
        return "QUERY_TOO_COMPLEX" if "tokens" in error.message else "GRAPHQL_PARSE_FAILED"
    if not isinstance(chain[-1], GraphQLError):
        return None  # an exception from our code or a library: mask it
    if _VARIABLE.match(error.message):
        return BadUserInput.code  # a variable's value the schema refused (a malformed UUID, a wrong enum…)
    return "GRAPHQL_VALIDATION_FAILED"  # document or variable problems found by graphql-core


def _masked(error: GraphQLError) -> GraphQLError:
    error_id = uuid.uuid4().hex[:12]
    log.error("unexpected error %s at %s", error_id, error.path, exc_info=error.original_error or error)
    return GraphQLError(
        f"Internal error (reference {error_id}); it has been logged. Try again, or report the reference.",
        nodes=error.nodes, path=error.path, extensions={"code": "INTERNAL_SERVER_ERROR", "errorId": error_id},
    )


def _coded(error: GraphQLError) -> GraphQLError:
    code = _code(error)
    if code is None:
        return _masked(error)
    error.extensions = {**(error.extensions or {}), "code": code}
    original = _chain(error)[-1]
    if isinstance(original, ApiError) and original.field:
        error.extensions["field"] = original.field
    elif (variable := _VARIABLE.match(error.message)) is not None:
        path = variable.group("path")
        error.extensions["field"] = variable.group("at") or (variable.group("name") + path if path else variable.group("name"))
    return error


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [_coded(e) for e in result.errors]


def code_in_place(error: GraphQLError) -> None:
    """`_coded` for transports that keep the error object (subscription results)."""
    coded = _coded(error)
    error.message = coded.message
    error.extensions = coded.extensions
