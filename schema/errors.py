"""Every error gets `extensions.code`; unexpected ones are masked and logged with an id.

Logging: an error a client caused or a retry cures (any coded error) is one line without a
traceback; only masked errors are logged with their traceback, under the id the client sees.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalIDValueError, InvalidGlobalIDError

from resolvers.errors import ApiError, BadUserInput, unavailable

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
# graphql-core ends a message with its guesses: "Cannot query field 'x' on type 'Y'. Did you mean 'z'?"
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?\s*$")


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
        return "QUERY_TOO_COMPLEX" if "tokens" in error.message or "nested too deeply" in error.message \
            else "GRAPHQL_PARSE_FAILED"
    if not isinstance(chain[-1], GraphQLError):
        return None  # an exception from our code or a library: mask it
    if _VARIABLE.match(error.message):
        return BadUserInput.code  # a variable's value the schema refused (a malformed UUID, a wrong enum…)
    return "GRAPHQL_VALIDATION_FAILED"  # document or variable problems found by graphql-core


def _masked(error: GraphQLError) -> GraphQLError:
    error_id = uuid.uuid4().hex[:12]
    log.error("unexpected error %s at %s", error_id, error.path, exc_info=error.original_error or error)
    masked = GraphQLError(
        f"Internal error (reference {error_id}); it has been logged. Try again, or report the reference.",
        nodes=error.nodes, path=error.path, extensions={"code": "INTERNAL_SERVER_ERROR", "errorId": error_id},
    )
    masked.perisai_coded = True  # type: ignore[attr-defined]
    return masked


def _outage(error: GraphQLError) -> GraphQLError | None:
    """The error as UNAVAILABLE when the database was unreachable behind it."""
    original = _chain(error)[-1]
    if isinstance(original, ApiError):
        return None
    cause = unavailable(original)
    if cause is None:
        return None
    return GraphQLError(str(cause), nodes=error.nodes, path=error.path, original_error=cause,
                        extensions={"code": cause.code})


def _coded(error: GraphQLError, hide_suggestions: bool = False) -> GraphQLError:
    if getattr(error, "perisai_coded", False):
        return error  # coded (and logged) already by Schema.process_errors
    error = _outage(error) or error
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
    if hide_suggestions:
        error.message = _SUGGESTION.sub("", error.message)
    log.info("refused %s: %s", code, error.message)
    error.perisai_coded = True  # type: ignore[attr-defined]
    return error


def _distinct(errors: list[GraphQLError]) -> list[GraphQLError]:
    """One error per cause: a batch that fails (a statement timeout, an outage) fails every row of
    a list with the same exception, and 400 copies of it help nobody."""
    seen: set[int] = set()
    kept = []
    for error in errors:
        original = error.original_error
        if original is not None and not isinstance(original, GraphQLError):
            if id(original) in seen:
                continue
            seen.add(id(original))
        kept.append(error)
    return kept


class ErrorCodes(SchemaExtension):
    def __init__(self, *, hide_suggestions: bool = False) -> None:
        self.hide_suggestions = hide_suggestions  # production: do not guess field names for strangers

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = coded(result.errors, self.hide_suggestions)


def coded(errors: list[GraphQLError], hide_suggestions: bool = False) -> list[GraphQLError]:
    """The errors of one result, each with its code, one per cause."""
    return [_coded(e, hide_suggestions) for e in _distinct(errors)]


def code_in_place(errors: list[GraphQLError], hide_suggestions: bool = False) -> None:
    """`_coded` for errors whose list cannot be replaced (Schema.process_errors sees the errors of
    every path, including subscription results and exceptions raised by extensions)."""
    for error in _distinct(errors):
        coded = _coded(error, hide_suggestions)
        error.message = coded.message
        error.extensions = coded.extensions
        error.perisai_coded = True  # type: ignore[attr-defined]
