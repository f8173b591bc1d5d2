"""Every error gets `extensions.code`; unexpected ones are masked and logged with an id."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalIDValueError

from resolvers.errors import ApiError, BadUserInput

log = logging.getLogger("perisai.api")


def _code(error: GraphQLError) -> str | None:
    """The code a client may see, or None when the error must be masked."""
    existing = (error.extensions or {}).get("code")
    original = error.original_error
    if isinstance(original, ApiError):
        return original.code
    if existing:
        return str(existing)
    if isinstance(original, GlobalIDValueError):
        return BadUserInput.code
    if isinstance(error, GraphQLSyntaxError) or original is None and error.message.startswith("Syntax Error"):
        return "QUERY_TOO_COMPLEX" if "tokens" in error.message else "GRAPHQL_PARSE_FAILED"
    if original is None:
        return "GRAPHQL_VALIDATION_FAILED"  # document or variable problems found by graphql-core
    return None


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
    original = error.original_error
    if isinstance(original, ApiError) and original.field:
        error.extensions["field"] = original.field
    return error


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [_coded(e) for e in result.errors]
