"""With `PERISAI_PERSISTED_QUERIES_ONLY`, only registered documents run — over every transport.

The HTTP view refuses an unregistered document before parsing it (server/persisted.py); this
extension applies the same list to what reaches the schema by other ways (WebSocket
subscriptions), so the allow-list has no side door.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from resolvers.errors import PersistedQueryNotAllowed

NOT_REGISTERED = ("this server answers registered documents only; send the sha256Hash of a registered "
                  "document (ask for the list the frontend is built with)")


class RegisteredDocumentsOnly(SchemaExtension):
    def __init__(self, registered: frozenset[str]) -> None:
        self.registered = registered

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        text = context.query or ""
        if context.result is None and hashlib.sha256(text.encode()).hexdigest() not in self.registered:
            error = PersistedQueryNotAllowed(NOT_REGISTERED)
            refusal = GraphQLError(str(error), original_error=error, extensions={"code": error.code})
            if context.operation_type is OperationType.SUBSCRIPTION:
                raise refusal  # Strawberry ignores a result set here for subscriptions, not an error raised
            context.result = ExecutionResult(data=None, errors=[refusal])
        yield
